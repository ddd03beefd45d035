"""signalfire domain code, shipped to Lambda as the shared layer.

Nothing in this package knows about Lambda events: handlers under
``functions/`` parse the event and call into here.
"""

__version__ = "0.1.0"
