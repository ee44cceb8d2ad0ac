"""aiobotocore clients shared by every trigger of one triggerer process (one per connection and region).

A triggerer runs hundreds of triggers in one event loop. Opening an aiobotocore client per trigger
costs about 28 ms of loop time (service model, endpoint resolution, credentials) and 1.66 MB each, so
1,000 deferred Clarify jobs held 1.9 GB and stalled the loop for seconds. Here the triggers of one
process share one open client per key:

``(hook class, client type, aws_conn_id, region_name, verify, botocore config)``

All of these are plain arguments of the trigger, so the key is computed without touching the
connection. Nothing blocking runs in the event loop, once per key or ever:

* the connection lookup, session and first credentials (``hook.get_async_conn()``) run in a worker
  thread, as do
* the client's creation (aiobotocore's client-creation coroutine: listing botocore's data folders,
  reading and parsing the service model and endpoint rules, building the client class; for the
  first client of a process 0.3-0.6 s of wall time, about 0.1 s of it CPU and the rest file I/O, the
  longest stall the loop had), which runs in a private event loop of that thread; only entering the client (its HTTP session, which
  belongs to the triggerer's loop) happens in the loop; and
* refreshes of assumed-role credentials, which the amazon provider does with a synchronous STS call,
  are moved to a worker thread too (:func:`_refresh_credentials_off_loop`).

Lifetime: :func:`shared_client` is an async context manager. The first user opens the client,
later users wait for that same opening (one lock per key, so 1,000 triggers starting together open
one client, not 1,000), and the last user to leave closes it. Clients are bound to the event loop
that opened them, so the cache is per loop (a test that runs triggers under several
``asyncio.run`` calls gets a fresh cache each time).

Any trigger of this provider may use it (the monitoring-schedule trigger too)::

    async with shared_client(hook) as client:
        await client.describe_monitoring_schedule(...)

Credentials of assumed roles are refreshed inside the shared client, as for a private one (in a thread).
"""

from __future__ import annotations

import asyncio
import inspect
import json
import weakref
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from typing import Any

__all__ = ["ClientCacheStats", "cache_stats", "client_key", "shared_client", "shared_client_config"]

#: Connections a shared client may hold open at once, unless the botocore config sets
#: ``max_pool_connections``. botocore's default of 10 is sized for one caller; a shared client serves
#: every trigger of the process, and with 10 connections at 100-200 ms a request (a distant region, a
#: busy endpoint) it answers only 50-100 polls a second, less than 1,000 triggers at a 10 s interval
#: ask for. Connections are opened only when requests wait for one, and idle ones close after 12 s.
SHARED_MAX_POOL_CONNECTIONS = 50


@dataclass
class _Entry:
    client: Any  # an entered aiobotocore client, closed with __aexit__
    users: int = 0


@dataclass
class ClientCacheStats:
    """What the cache of one event loop did: clients opened and closed, clients open now."""

    opened: int = 0
    closed: int = 0

    @property
    def open(self) -> int:
        return self.opened - self.closed


@dataclass
class _LoopCache:
    entries: dict[tuple, _Entry] = field(default_factory=dict)
    locks: dict[tuple, asyncio.Lock] = field(default_factory=dict)
    stats: ClientCacheStats = field(default_factory=ClientCacheStats)


_caches: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, _LoopCache] = weakref.WeakKeyDictionary()


def _loop_cache() -> _LoopCache:
    loop = asyncio.get_running_loop()
    cache = _caches.get(loop)
    if cache is None:
        cache = _caches[loop] = _LoopCache()
    return cache


def _config_key(config: Any) -> str:
    """A stable text for a botocore ``Config`` (or dict, or ``None``)."""
    options = getattr(config, "_user_provided_options", config)
    return json.dumps(options, sort_keys=True, default=repr)


def shared_client_config(config: dict[str, Any] | None) -> dict[str, Any] | None:
    """A trigger's botocore config dict for a shared client: :data:`SHARED_MAX_POOL_CONNECTIONS` unless set."""
    if config is not None and not isinstance(config, dict):
        return config  # a botocore Config object: the caller chose everything
    return {"max_pool_connections": SHARED_MAX_POOL_CONNECTIONS, **(config or {})}


def client_key(hook: Any) -> tuple:
    """The cache key of an amazon ``AwsGenericHook``: who the client talks to, as whom, and how."""
    return (
        f"{type(hook).__module__}.{type(hook).__qualname__}",
        hook.client_type,
        hook.aws_conn_id,
        hook._region_name,
        repr(hook._verify),
        _config_key(hook._config),
    )


def _create_client(creator: Any) -> Any:
    """Run aiobotocore's client-creation coroutine to its end in this (worker) thread's own event loop.

    ``creator`` is the ``ClientCreatorContext`` that ``session.create_client()`` returns; its coroutine
    builds the client (service model, endpoint rules, credentials) without binding it to a loop: the
    HTTP session is made when the client is entered, in the triggerer's loop.
    """
    return asyncio.run(creator._coro)


async def _open_client(hook: Any) -> Any:
    """A new, entered aiobotocore client of ``hook``, with every blocking step in a worker thread."""
    creator = await hook.get_async_conn()  # in a thread: connection, session, first credentials
    if hasattr(creator, "_coro"):
        client = await asyncio.to_thread(_create_client, creator)
        client = await client.__aenter__()
    else:  # an aiobotocore whose creator hides its coroutine: create in the loop, as it would itself
        client = await creator.__aenter__()
    _refresh_credentials_off_loop(client)
    return client


def _refresh_credentials_off_loop(client: Any) -> None:
    """Make the client's credential refresh run in a worker thread when it is a synchronous function.

    For a connection with ``role_arn`` the amazon provider refreshes assumed-role credentials with a
    synchronous STS ``AssumeRole`` (``refresh_using``); aiobotocore would call it in the event loop,
    stalling every trigger for the length of that request, once per key and credential lifetime.
    Credentials that refresh asynchronously (aiobotocore's own providers) are left as they are.
    """
    credentials = getattr(getattr(client, "_request_signer", None), "_credentials", None)
    refresh = getattr(credentials, "_refresh_using", None)
    if refresh is None or inspect.iscoroutinefunction(refresh):
        return

    async def refresh_in_thread() -> Any:
        return await asyncio.to_thread(refresh)

    credentials._refresh_using = refresh_in_thread


def cache_stats() -> ClientCacheStats:
    """Counters of the running event loop's cache (for tests, the benchmark and logs)."""
    return _loop_cache().stats


@asynccontextmanager
async def shared_client(hook: Any) -> AsyncIterator[Any]:
    """The open aiobotocore client of ``hook``'s key, shared with every other user in this event loop."""
    cache = _loop_cache()
    key = client_key(hook)
    lock = cache.locks.setdefault(key, asyncio.Lock())
    async with lock:
        entry = cache.entries.get(key)
        if entry is None:
            client = await _open_client(hook)
            entry = cache.entries[key] = _Entry(client=client)
            cache.stats.opened += 1
        entry.users += 1
    try:
        yield entry.client
    finally:
        entry.users -= 1
        if entry.users == 0 and cache.entries.get(key) is entry:
            del cache.entries[key]
            cache.stats.closed += 1
            # Shielded: a trigger cancelled while leaving must still close what it was the last to use.
            await asyncio.shield(entry.client.__aexit__(None, None, None))
