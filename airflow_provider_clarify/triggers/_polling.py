"""When the first poll of a trigger happens: spread deterministically over most of one interval.

A triggerer that starts (or restarts, or takes over) a thousand triggers at once must not send a
thousand requests in the same second: that is a burst the event loop, the shared client's connection
pool and the AWS API rate limit all pay for, and the triggers at the back of the queue poll late.
Each trigger therefore waits :func:`first_poll_delay` before its first poll: a fraction of the
interval taken from a hash of the trigger's key (the job or schedule name), so

* the first polls of triggers created together are spread evenly over the interval (a hash of
  distinct names is as good as uniform), and so are the later ones, which keep that phase;
* every first poll still falls within one interval of the trigger's start: the delay is at most
  :data:`SPREAD_FRACTION` of the interval, which leaves the rest for the request itself and for a
  busy loop;
* it is reproducible: the same job gets the same delay after a triggerer restart or move, and tests
  can compute it.

Stdlib only; any trigger of this provider may use it (the monitoring-schedule trigger too).
"""

from __future__ import annotations

import hashlib

__all__ = ["SPREAD_FRACTION", "first_poll_delay"]

#: Share of one interval over which first polls are spread; the remaining 20 % is the margin that keeps
#: a first poll within one interval of the trigger's start while the loop and the network are busy.
SPREAD_FRACTION = 0.8


def first_poll_delay(key: str, interval: float, remaining: float | None = None) -> float:
    """Seconds to wait before the first poll: ``interval * SPREAD_FRACTION * u(key)``, ``u`` in [0, 1).

    :param key: what identifies the watched thing (a job name); equal keys get equal delays.
    :param interval: the trigger's poll interval in seconds.
    :param remaining: seconds left before the trigger's deadline, if any; the delay never exceeds it.
    """
    digest = hashlib.sha256(key.encode("utf-8")).digest()
    fraction = int.from_bytes(digest[:8], "big") / 2**64
    delay = interval * SPREAD_FRACTION * fraction
    if remaining is not None:
        delay = min(delay, max(0.0, remaining))
    return delay
