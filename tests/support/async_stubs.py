"""Answer the triggers' aiobotocore clients with AioStubber (real service model) where moto cannot.

Triggers open their client through :func:`airflow_provider_clarify.triggers._clients.shared_client`,
which closes it with the client's own ``__aexit__``, not the context ``get_async_conn`` returned; so
whether every queued answer was used is checked by the test after the run, on the stubs returned.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from aiobotocore.stub import AioStubber

from airflow_provider_clarify.hooks.clarify import ClarifyHook


class _StubbedCreator:
    """``get_async_conn``'s answer whose client is stubbed on entry."""

    def __init__(self, real: Any, add: Callable[[AioStubber], None], stubs: list[AioStubber]) -> None:
        self.real, self.add, self.stubs = real, add, stubs

    async def __aenter__(self) -> Any:
        client = await self.real.__aenter__()
        stub = AioStubber(client)
        self.add(stub)
        stub.activate()
        self.stubs.append(stub)
        return client

    async def __aexit__(self, *exc: Any) -> Any:
        return await self.real.__aexit__(*exc)


def stub_async_clients(monkeypatch: Any, add: Callable[[AioStubber], None]) -> list[AioStubber]:
    """Stub every aiobotocore client a ``ClarifyHook`` opens; ``add(stub)`` queues its answers.

    :returns: the stubs made, one per client opened (check them with ``assert_no_pending_responses``).
    """
    original = ClarifyHook.get_async_conn
    stubs: list[AioStubber] = []

    async def get_async_conn(self: ClarifyHook) -> _StubbedCreator:
        return _StubbedCreator(await original(self), add, stubs)

    monkeypatch.setattr(ClarifyHook, "get_async_conn", get_async_conn)
    return stubs
