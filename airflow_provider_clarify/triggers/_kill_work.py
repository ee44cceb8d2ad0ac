"""Run a trigger's ``on_kill`` work to its end although Airflow keeps cancelling the trigger.

Airflow 3.3 cancels a killed trigger again on every loop of the triggerer (about once a second) until
it has finished. Awaited directly, the kill handler's state lookup or Stop call would be interrupted
half-way by the next cancellation. :func:`run_to_completion` runs the work in a task of its own and
awaits it through :func:`asyncio.shield`: a cancellation then ends only the wait, not the work, and a
module-level reference keeps the task alive until it finishes (the event loop holds tasks weakly).

Stdlib only; both triggers of this provider use it.
"""

from __future__ import annotations

import asyncio
from collections.abc import Coroutine
from typing import Any

__all__ = ["run_to_completion"]

#: Kill work in flight, referenced until it finishes.
_IN_FLIGHT: set[asyncio.Task] = set()


async def run_to_completion(work: Coroutine[Any, Any, None]) -> None:
    """Await ``work`` in its own task, shielded from the cancellation of the awaiting trigger."""
    task = asyncio.get_running_loop().create_task(work)
    _IN_FLIGHT.add(task)
    task.add_done_callback(_IN_FLIGHT.discard)
    await asyncio.shield(task)
