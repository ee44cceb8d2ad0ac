"""Why a running or deferred task is being killed, and whether its Clarify job should be stopped.

Airflow 3 sends very different events through the same two hooks:

* ``BaseOperator.on_kill`` runs in the task process when it receives SIGTERM. The supervisor sends
  that signal when the API server says the task instance is no longer running (a user marked it
  failed or success, or cleared it: its heartbeat gets 404/409), **and** it forwards the SIGTERM it
  receives itself when the worker shuts down (warm shutdown, pod eviction, rolling deploy). The task
  runner also calls ``on_kill`` directly when ``execution_timeout`` passes.
* ``BaseTrigger.on_kill`` runs in the triggerer when the trigger is cancelled "by user action". Airflow
  3.3 cancels that way every trigger that is no longer assigned to this triggerer, which includes a
  trigger reassigned to another triggerer (the old one was slow to heartbeat) as well as a trigger
  whose task a user marked or cleared.

The difference is in the task instance's state on the server: a user action has already changed it
(``failed``, ``success``, ``restarting``, ``None``, ...) when the kill arrives, while a shutdown leaves
it ``running`` and a trigger move leaves it ``deferred``. So the job is stopped only when the state
has moved on (a real kill) or when the task's own ``execution_timeout`` passed; a shutdown or a move
leaves the job running, and the retry (or the trigger's new home) re-attaches to it by its
deterministic name. When the state cannot be read (API server unreachable, which is typical of a
whole deployment shutting down) the job is left running as well: a user kill always comes from a
reachable API server. A direct call outside a task run (a test, a script) is an explicit kill.

See docs/operators.md#what-a-kill-stops for the guarantees and the tests that prove them.
"""

from __future__ import annotations

import asyncio
import contextlib
import enum
import logging
import sys
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor, TimeoutError as FutureTimeout
from typing import Any

#: How long a kill handler may wait for the task instance's state (the triggerer gives ``on_kill`` 30 s
#: in all, ``[triggerer] on_kill_timeout``; what is left is for StopProcessingJob).
STATE_LOOKUP_TIMEOUT_SECONDS = 20.0

#: The triggerer answers state lookups through an in-process Execution API that it builds on first use;
#: on a loaded machine that took 30 s. One background lookup per triggerer process, when its first
#: Clarify trigger starts, builds it early, so a kill later gets its answer in time.
_primed: list[asyncio.Task] = []


class KillCause(enum.Enum):
    """What a kill of a Clarify task means for its job."""

    USER = "a user marked or cleared the task"
    TIMEOUT = "execution_timeout passed"
    SHUTDOWN = "the worker is shutting down"
    MOVED = "the trigger moved to another triggerer"
    UNKNOWN = "the task instance's state could not be read"

    @property
    def stops_job(self) -> bool:
        return self in (KillCause.USER, KillCause.TIMEOUT)


def _state_key(ti: Any) -> str:
    """How the Execution API names a task instance in its ``{run_id: {key: state}}`` answer."""
    map_index = getattr(ti, "map_index", -1)
    return ti.task_id if map_index is None or map_index < 0 else f"{ti.task_id}_{map_index}"


def _states_request(ti: Any) -> Any:
    from airflow.sdk.execution_time.comms import GetTaskStates

    map_index = getattr(ti, "map_index", -1)
    return GetTaskStates(
        dag_id=ti.dag_id,
        task_ids=[ti.task_id],
        run_ids=[ti.run_id],
        map_index=map_index if map_index is not None and map_index >= 0 else None,
    )


def _state_from(response: Any, ti: Any) -> str | None:
    states = getattr(response, "task_states", None) or {}
    state = states.get(ti.run_id, {}).get(_state_key(ti), "")
    return None if state is None else str(getattr(state, "value", state))


def _supervisor_comms() -> Any:
    try:
        from airflow.sdk.execution_time import task_runner
    except ImportError:  # pragma: no cover - the task SDK ships with Airflow 3
        return None
    return getattr(task_runner, "SUPERVISOR_COMMS", None)


def _running_task_instance() -> Any:
    """The task instance whose ``execute`` is on the stack, or ``None`` outside a task run."""
    try:
        from airflow.sdk import get_current_context

        return get_current_context()["ti"]
    except Exception:
        return None


def _read_state_in_thread(comms: Any, ti: Any) -> str | None:
    """The state of ``ti`` on the server; ``""`` when unknown.

    Asked from a thread and bounded: ``on_kill`` runs inside a signal handler, possibly while the
    interrupted code holds the supervisor channel; the thread then waits for it instead of deadlocking
    the handler.
    """
    pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="clarify-kill-state")
    try:
        future = pool.submit(lambda: _state_from(comms.send(_states_request(ti)), ti))
        return future.result(timeout=STATE_LOOKUP_TIMEOUT_SECONDS)
    except (FutureTimeout, Exception):
        return ""
    finally:
        pool.shutdown(wait=False)


def worker_kill_cause() -> KillCause:
    """Why ``on_kill`` of a task waiting in the worker was called (see the module docstring)."""
    from airflow.sdk.exceptions import AirflowTaskTimeout

    if isinstance(sys.exception(), AirflowTaskTimeout):
        return KillCause.TIMEOUT
    comms = _supervisor_comms()
    ti = _running_task_instance()
    if comms is None or ti is None:
        return KillCause.USER  # called directly, outside a task run: an explicit kill
    state = _read_state_in_thread(comms, ti)
    if state == "":
        return KillCause.UNKNOWN
    return KillCause.SHUTDOWN if state == "running" else KillCause.USER


async def deferred_kill_cause(ti: Any, log: logging.Logger | None = None) -> KillCause:
    """Why the trigger of a deferred task was cancelled "by user action" (see the module docstring)."""
    comms = _supervisor_comms()
    if ti is None or comms is None:
        return KillCause.USER  # called directly, outside a triggerer: an explicit kill
    try:
        response = await asyncio.wait_for(comms.asend(_states_request(ti)), STATE_LOOKUP_TIMEOUT_SECONDS)
    except (Exception, asyncio.CancelledError) as error:
        if log is not None:
            log.warning("Could not read the state of task instance %s: %r", _state_key(ti), error)
        return KillCause.UNKNOWN
    state = _state_from(response, ti)
    if state == "":
        return KillCause.UNKNOWN
    return KillCause.MOVED if state == "deferred" else KillCause.USER


def prime_state_lookup(ti: Any) -> None:
    """Start one background state lookup per process (see ``_primed``); errors are ignored."""
    comms = _supervisor_comms()
    if _primed or ti is None or comms is None or not hasattr(comms, "asend"):
        return

    async def lookup() -> None:
        with contextlib.suppress(Exception):
            await comms.asend(_states_request(ti))

    _primed.append(asyncio.get_running_loop().create_task(lookup(), name="clarify-prime-state-lookup"))


def stop_job_on_worker_kill(
    hook: Any,
    job_name: str,
    log: logging.Logger,
    *,
    stop: Callable[[], None] | None = None,
    what: str = "Clarify processing job",
) -> KillCause:
    """``on_kill`` of a task waiting for ``job_name`` in the worker: stop the job on a real kill only.

    :param stop: how to stop it (default ``hook.stop_processing_job(job_name)``), e.g. a monitoring
        schedule's execution and the schedule itself; errors are logged, not raised.
    :param what: what ``job_name`` names, for the log.
    """
    cause = worker_kill_cause()
    if not cause.stops_job:
        log.warning(
            "Task interrupted (%s): leaving %s %s running; the task's retry re-attaches to it.",
            cause.value,
            what,
            job_name,
        )
        return cause
    log.info("Task killed (%s); stopping %s %s.", cause.value, what, job_name)
    try:
        if stop is None:
            hook.stop_processing_job(job_name)
        else:
            stop()
    except Exception:
        log.exception("Could not stop %s %s", what, job_name)
    return cause
