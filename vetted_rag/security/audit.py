"""Append-only, tamper-evident audit log: JSON lines, each carrying the hash of the one before.

Changing, removing or reordering any line breaks the chain, which `verify` (and
`vetted-rag audit verify`) reports with the first bad line.
"""

from __future__ import annotations

import hashlib
import json
import threading
import time
from pathlib import Path

from vetted_rag.security.redaction import redact

GENESIS = "0" * 64


def _hash(record: dict) -> str:
    return hashlib.sha256(json.dumps(record, sort_keys=True, separators=(",", ":")).encode()).hexdigest()


class AuditLog:
    def __init__(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        self.path = path
        self._lock = threading.Lock()
        self._tail: tuple[int, int, str] = (-1, 0, GENESIS)  # (file size, seq, hash) after our last append

    def _last(self) -> tuple[int, str]:
        """The last record's seq and hash. Re-read from the file only when its size is not the one this
        process left: another process (a replica, the CLI) appended meanwhile."""
        size = self.path.stat().st_size if self.path.exists() else 0
        if size == self._tail[0]:
            return self._tail[1], self._tail[2]
        if size == 0:
            return 0, GENESIS
        with self.path.open("rb") as f:
            f.seek(max(0, size - 65536))
            last = f.read().splitlines()[-1]
        record = json.loads(last)
        return record["seq"], record["hash"]

    def append(self, *, key_id: str, role: str, action: str, target: str = "", outcome: str = "",
               run_id: str = "") -> dict:
        with self._lock:
            seq, prev = self._last()
            record = {"seq": seq + 1, "time": round(time.time(), 3), "key_id": key_id, "role": role, "action": action,
                      "target": redact(target)[:500], "outcome": outcome, "run_id": run_id, "prev": prev}
            record["hash"] = _hash(record)
            with self.path.open("a", encoding="utf-8") as f:
                f.write(json.dumps(record, sort_keys=True) + "\n")
                f.flush()
                self._tail = (f.tell(), record["seq"], record["hash"])
            return record

    def verify(self) -> tuple[bool, int, str]:
        """(intact, records checked, problem). The problem names the first line that breaks the chain."""
        if not self.path.exists():
            return True, 0, ""
        prev, count = GENESIS, 0
        for number, line in enumerate(self.path.read_text(encoding="utf-8").splitlines(), 1):
            try:
                record = json.loads(line)
                claimed = record.pop("hash")
            except (json.JSONDecodeError, KeyError, AttributeError):
                return False, count, f"line {number} is not an audit record"
            if record.get("prev") != prev or record.get("seq") != number:
                return False, count, f"line {number} does not follow line {number - 1} (removed or reordered)"
            if _hash(record) != claimed:
                return False, count, f"line {number} was altered"
            prev, count = claimed, count + 1
        return True, count, ""
