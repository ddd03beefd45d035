"""The on-disk outbox: every batch is written here before it is sent, and
deleted only once the server has answered 2xx.

- Files are named by a growing sequence number, so they are sent in the
  order they were collected; a send stops at the first failure, so a later
  batch never overtakes an earlier one.
- Bounded: beyond ``max_batches`` the oldest are dropped first; the agent
  keeps the number dropped in ``state.json`` and sends it with the next
  accepted batch (``dropped_batches``), then forgets it.
- A batch the server refuses as bad (4xx other than 401/403/408/425/429)
  moves to ``rejected/`` with the answer (the last 50 are kept) and is not
  retried; the server also keeps it with the reason.
- Exactly once: each batch carries a ``batch_id`` and the server answers a
  batch it already stored as a duplicate without storing it again, so a
  batch whose answer was lost in a timeout is resent safely.

Plain ``os.path`` rather than ``pathlib`` (0.5 MB resident, docs/agent.md).
"""

from __future__ import annotations

import contextlib
import json
import os

TYPE_CHECKING = False
if TYPE_CHECKING:  # not imported at run time: typing costs 0.4 MB resident (docs/agent.md)
    from typing import Any


REJECTED_KEEP = 50


class Spool:
    def __init__(self, directory: str, max_batches: int = 1000) -> None:
        self.dir = str(directory)
        self.outbox = os.path.join(self.dir, "outbox")
        self.rejected_dir = os.path.join(self.dir, "rejected")
        self.state_file = os.path.join(self.dir, "state.json")
        self.max_batches = max_batches
        os.makedirs(self.outbox, mode=0o700, exist_ok=True)

    # -- state (dropped count, checker counters, last scan) ------------------
    def load_state(self) -> dict[str, Any]:
        try:
            with open(self.state_file, "rb") as fh:
                state = json.load(fh)
            return state if isinstance(state, dict) else {}
        except (OSError, ValueError):
            return {}

    def save_state(self, state: dict[str, Any]) -> None:
        _atomic_write(self.state_file, json.dumps(state))

    # -- batches ------------------------------------------------------------
    def pending(self) -> list[str]:
        return _json_files(self.outbox)

    def put(self, batch: dict[str, Any]) -> int:
        """Store ``batch`` last in line; returns how many old batches were dropped to make room."""
        files = self.pending()
        seq = int(os.path.basename(files[-1]).split("-", 1)[0]) + 1 if files else 1
        path = os.path.join(self.outbox, f"{seq:012d}-{batch['batch_id']}.json")
        _atomic_write(path, json.dumps(batch, separators=(",", ":")))
        files.append(path)
        overflow = max(0, len(files) - self.max_batches)
        for old in files[:overflow]:
            _unlink(old)
        return overflow

    def read(self, path: str) -> dict[str, Any] | None:
        try:
            with open(path, "rb") as fh:
                data = json.load(fh)
            return data if isinstance(data, dict) else None
        except (OSError, ValueError):
            return None

    def done(self, path: str) -> None:
        _unlink(path)

    def reject(self, path: str, status: int, answer: str) -> None:
        os.makedirs(self.rejected_dir, mode=0o700, exist_ok=True)
        target = os.path.join(self.rejected_dir, os.path.basename(path))
        _atomic_write(target[:-5] + ".reason", f"HTTP {status}: {answer[:2000]}\n")
        os.replace(path, target)
        for old in self.rejected()[:-REJECTED_KEEP]:
            _unlink(old)
            _unlink(old[:-5] + ".reason")

    def rejected(self) -> list[str]:
        return _json_files(self.rejected_dir)


def _json_files(directory: str) -> list[str]:
    try:
        names = os.listdir(directory)
    except FileNotFoundError:
        return []
    return [os.path.join(directory, n) for n in sorted(names) if n.endswith(".json") and not n.startswith(".")]


def _unlink(path: str) -> None:
    with contextlib.suppress(FileNotFoundError):
        os.unlink(path)


def _atomic_write(path: str, text: str) -> None:
    tmp = os.path.join(os.path.dirname(path), f".{os.path.basename(path)}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as fh:
        fh.write(text)
    os.replace(tmp, path)
