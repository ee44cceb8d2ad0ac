"""run_to_completion: a kill handler's work outlives the cancellations Airflow keeps sending."""

from __future__ import annotations

import asyncio
import gc

import pytest

from airflow_provider_clarify.triggers import _kill_work


@pytest.mark.asyncio
async def test_the_work_finishes_although_its_waiter_is_cancelled_twice():
    steps: list[str] = []
    release = asyncio.Event()

    async def stop_the_job() -> None:
        steps.append("started")
        await release.wait()
        steps.append("finished")

    for _ in range(2):  # Airflow re-sends the cancel on the next loop: a second waiter, the same work
        waiter = asyncio.ensure_future(_kill_work.run_to_completion(stop_the_job()))
        await asyncio.sleep(0)
        await asyncio.sleep(0)
        waiter.cancel("__airflow_user_action__")
        with pytest.raises(asyncio.CancelledError):
            await waiter
    gc.collect()  # the loop keeps tasks weakly: only the module's reference keeps them running
    assert len(_kill_work._IN_FLIGHT) == 2
    release.set()
    for _ in range(10):
        await asyncio.sleep(0)
    assert steps == ["started", "started", "finished", "finished"]
    assert not _kill_work._IN_FLIGHT  # released once done


@pytest.mark.asyncio
async def test_an_error_of_the_work_reaches_an_uncancelled_waiter():
    async def failing() -> None:
        raise RuntimeError("StopProcessingJob refused")

    with pytest.raises(RuntimeError, match="refused"):
        await _kill_work.run_to_completion(failing())
    assert not _kill_work._IN_FLIGHT
