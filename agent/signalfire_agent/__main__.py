import sys

from signalfire_agent.cli import main

sys.exit(main())
