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
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

REJECTED_KEEP = 50


class Spool:
    def __init__(self, directory: str | os.PathLike[str], max_batches: int = 1000) -> None:
        self.dir = Path(directory)
        self.outbox = self.dir / "outbox"
        self.rejected_dir = self.dir / "rejected"
        self.state_file = self.dir / "state.json"
        self.max_batches = max_batches
        self.outbox.mkdir(parents=True, exist_ok=True, mode=0o700)

    # -- state (dropped count, checker counters, last scan) ------------------
    def load_state(self) -> dict[str, Any]:
        try:
            state = json.loads(self.state_file.read_text())
            return state if isinstance(state, dict) else {}
        except (OSError, ValueError):
            return {}

    def save_state(self, state: dict[str, Any]) -> None:
        _atomic_write(self.state_file, json.dumps(state))

    # -- batches ------------------------------------------------------------
    def pending(self) -> list[Path]:
        return sorted(self.outbox.glob("*.json"))

    def put(self, batch: dict[str, Any]) -> int:
        """Store ``batch`` last in line; returns how many old batches were dropped to make room."""
        files = self.pending()
        seq = int(files[-1].stem.split("-", 1)[0]) + 1 if files else 1
        path = self.outbox / f"{seq:012d}-{batch['batch_id']}.json"
        _atomic_write(path, json.dumps(batch, separators=(",", ":")))
        files.append(path)
        overflow = max(0, len(files) - self.max_batches)
        for old in files[:overflow]:
            old.unlink(missing_ok=True)
        return overflow

    def read(self, path: Path) -> dict[str, Any] | None:
        try:
            return json.loads(path.read_bytes())
        except (OSError, ValueError):
            return None

    def done(self, path: Path) -> None:
        path.unlink(missing_ok=True)

    def reject(self, path: Path, status: int, answer: str) -> None:
        self.rejected_dir.mkdir(exist_ok=True, mode=0o700)
        target = self.rejected_dir / path.name
        _atomic_write(target.with_suffix(".reason"), f"HTTP {status}: {answer[:2000]}\n")
        path.replace(target)
        kept = sorted(self.rejected_dir.glob("*.json"))
        for old in kept[:-REJECTED_KEEP]:
            old.unlink(missing_ok=True)
            old.with_suffix(".reason").unlink(missing_ok=True)

    def rejected(self) -> list[Path]:
        return sorted(self.rejected_dir.glob("*.json")) if self.rejected_dir.exists() else []


def _atomic_write(path: Path, text: str) -> None:
    tmp = path.with_name(f".{path.name}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as fh:
        fh.write(text)
    os.replace(tmp, path)
