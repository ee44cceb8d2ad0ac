"""Fault injection for the Spark tests: a pass-through stage that stops one task once.

``pause_once(frame, folder)`` returns ``frame`` unchanged in content; the first task of partition 0
that runs it (across every job on ``frame``) writes its process id to ``folder/paused`` and then
waits, so that the test can kill that task's executor, or the driver, while a job is running.
Later attempts (Spark's retry) and later jobs find the marker and pass their rows through.
"""

from __future__ import annotations

import os
import time
from pathlib import Path

#: How long a paused task waits to be killed (0.1 s steps) before it carries on (then the test fails).
PAUSE_STEPS = 1200


def pause_once(frame, folder: str):
    schema = frame.schema

    def task(batches):
        from pyspark import TaskContext

        context = TaskContext.get()
        for i, batch in enumerate(batches):
            if i == 0 and context.partitionId() == 0:
                try:
                    fd = os.open(Path(folder) / "paused", os.O_CREAT | os.O_EXCL | os.O_WRONLY)
                except FileExistsError:
                    pass
                else:
                    os.write(fd, str(os.getpid()).encode())
                    os.close(fd)
                    for _ in range(PAUSE_STEPS):
                        time.sleep(0.1)
            yield batch

    return frame.mapInArrow(task, schema)


def wait_for_pause(folder: Path, steps: int = 3000, give_up=lambda: False) -> int:
    """The id of the paused Python worker, once it has paused (``give_up()``: stop waiting)."""
    marker = folder / "paused"
    for _ in range(steps):
        if give_up():
            break
        if marker.exists() and marker.read_text():
            return int(marker.read_text())
        time.sleep(0.1)
    raise AssertionError(f"no task paused (no {marker})")


def parent_of(pid: int) -> int:
    stat = Path(f"/proc/{pid}/stat").read_text()
    return int(stat.rsplit(")", 1)[1].split()[1])


def ancestor_in(pid: int, candidates: set[int]) -> int:
    """The first ancestor of ``pid`` (itself included) that is one of ``candidates``."""
    while pid > 1:
        if pid in candidates:
            return pid
        pid = parent_of(pid)
    raise AssertionError(f"no ancestor of the paused task is one of {sorted(candidates)}")
