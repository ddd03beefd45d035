"""A few lines to stderr.  Not ``logging``: it costs 0.7 MB of resident
memory for what a one-process agent needs (docs/agent.md)."""

from __future__ import annotations

import sys
import time

VERBOSE = [False]


def _emit(level: str, msg: str, *args: object) -> None:
    stamp = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
    print(f"{stamp} {level} {msg % args if args else msg}", file=sys.stderr, flush=True)


def info(msg: str, *args: object) -> None:
    _emit("INFO", msg, *args)


def warning(msg: str, *args: object) -> None:
    _emit("WARNING", msg, *args)


def error(msg: str, *args: object) -> None:
    _emit("ERROR", msg, *args)
