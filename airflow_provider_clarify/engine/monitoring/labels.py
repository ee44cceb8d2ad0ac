"""Ground-truth labels by event id, bounded in memory.

Up to ``max_in_memory`` labels live in a dict; beyond that every label moves to a SQLite file in the
execution's work folder (one indexed table), so a long window of labels never has to fit in memory.
A later label for the same id replaces the earlier one, in both modes.
"""

from __future__ import annotations

import json
import os
import sqlite3
from typing import Any

DEFAULT_MAX_IN_MEMORY = 2_000_000
_BATCH = 50_000


class LabelStore:
    """``put(id, label)`` / ``get(id)`` / ``len()``; call :meth:`close` when done."""

    def __init__(self, workdir: str, max_in_memory: int = DEFAULT_MAX_IN_MEMORY) -> None:
        self.workdir = workdir
        self.max_in_memory = max_in_memory
        self._memory: dict[str, Any] | None = {}
        self._db: sqlite3.Connection | None = None
        self._pending: list[tuple[str, str]] = []

    @property
    def spilled(self) -> bool:
        return self._db is not None

    def _spill(self) -> None:
        self._db = sqlite3.connect(os.path.join(self.workdir, "labels.sqlite"))
        self._db.execute("PRAGMA journal_mode=OFF")
        self._db.execute("PRAGMA synchronous=OFF")
        self._db.execute("CREATE TABLE labels (id TEXT PRIMARY KEY, label TEXT NOT NULL)")
        assert self._memory is not None
        self._pending = [(k, json.dumps(v)) for k, v in self._memory.items()]
        self._memory = None
        self._flush()

    def _flush(self) -> None:
        if self._pending and self._db is not None:
            self._db.executemany("INSERT OR REPLACE INTO labels VALUES (?, ?)", self._pending)
            self._pending = []

    def put(self, event_id: str, label: Any) -> None:
        if self._memory is not None:
            self._memory[event_id] = label
            if len(self._memory) > self.max_in_memory:
                self._spill()
            return
        self._pending.append((event_id, json.dumps(label)))
        if len(self._pending) >= _BATCH:
            self._flush()

    def put_many(self, event_ids: list[str], labels: list[Any]) -> None:
        """``put`` of each pair, in order."""
        if self._memory is not None:
            self._memory.update(zip(event_ids, labels, strict=True))
            if len(self._memory) > self.max_in_memory:
                self._spill()
            return
        for event_id, label in zip(event_ids, labels, strict=True):
            self.put(event_id, label)

    def get_many(self, event_ids: list[str]) -> list[Any]:
        """``get`` of each id."""
        if self._memory is not None:
            return list(map(self._memory.get, event_ids))
        return [self.get(event_id) for event_id in event_ids]

    def get(self, event_id: str) -> Any:
        if self._memory is not None:
            return self._memory.get(event_id)
        self._flush()
        assert self._db is not None
        row = self._db.execute("SELECT label FROM labels WHERE id = ?", (event_id,)).fetchone()
        return None if row is None else json.loads(row[0])

    def __len__(self) -> int:
        if self._memory is not None:
            return len(self._memory)
        self._flush()
        assert self._db is not None
        return int(self._db.execute("SELECT COUNT(*) FROM labels").fetchone()[0])

    def close(self) -> None:
        if self._db is not None:
            self._db.close()
            self._db = None
