"""signalfire-agent: runs health checkers on a host and posts them to signalfire."""

__version__ = "0.1.0"
