"""aiobotocore clients shared by every trigger of one triggerer process (one per connection and region).

A triggerer runs hundreds of triggers in one event loop. Opening an aiobotocore client per trigger
costs about 28 ms of loop time (service model, endpoint resolution, credentials) and 1.66 MB each, so
1,000 deferred Clarify jobs held 1.9 GB and stalled the loop for seconds. Here the triggers of one
process share one open client per key:

``(hook class, client type, aws_conn_id, region_name, verify, botocore config)``

All of these are plain arguments of the trigger, so the key is computed without touching the
connection. The connection's ``endpoint_url`` and credentials are resolved once per key, the first
time, in a worker thread (``hook.get_async_conn()``), never in the event loop.

Lifetime: :func:`shared_client` is an async context manager. The first user opens the client,
later users wait for that same opening (one lock per key, so 1,000 triggers starting together open
one client, not 1,000), and the last user to leave closes it. Clients are bound to the event loop
that opened them, so the cache is per loop (a test that runs triggers under several
``asyncio.run`` calls gets a fresh cache each time).

Any trigger of this provider may use it (the monitoring-schedule trigger too)::

    async with shared_client(hook) as client:
        await client.describe_monitoring_schedule(...)

Credentials of assumed roles are refreshed by botocore inside the shared client, as for a private one.
"""

from __future__ import annotations

import asyncio
import json
import weakref
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from typing import Any

__all__ = ["ClientCacheStats", "cache_stats", "client_key", "shared_client"]


@dataclass
class _Entry:
    context: Any  # aiobotocore's ClientCreatorContext, closed with __aexit__
    client: Any
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
            # Connection lookup, session and credential resolution run in a thread (get_async_conn).
            context = await hook.get_async_conn()
            client = await context.__aenter__()
            entry = cache.entries[key] = _Entry(context=context, client=client)
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
            await asyncio.shield(entry.context.__aexit__(None, None, None))
