"""Progress of long engine work: log lines at a steady cadence, and a progress bar on a terminal.

A SHAP job over 100k records or a 100M-row bias pass runs for minutes; without this it prints nothing
until it ends. The loops that consume the work report counts with one line each, where they consume
batches, never per row:

.. code-block:: python

    progress.expect("Kernel SHAP", total=len(records), unit="records")  # when the total is known
    progress.advance("Kernel SHAP", len(chunk))  # after each chunk
    yield from progress.track("Bias metrics", batches, unit="rows", size=lambda b: b.num_rows)

The reporter in charge lives in a context variable. The default, :class:`Reporter`, writes to the
``airflow_provider_clarify.engine.progress`` logger (so to the Airflow task log) at most once per
``interval`` seconds of a monotonic clock per stage, e.g.::

    Kernel SHAP: 12,000 of 100,000 records (12%), 410 records/s, about 3m 35s left

and, when a stage took long enough to report at all, a closing line with its count, duration and
rate. A stage shorter than the interval logs nothing. A stage without a known total (a bias pass
over a stream) reports rows and rate; its next pass knows the total from the first one.
:class:`BarReporter` (the CLI on a terminal, :func:`use_bar`) draws a ``rich`` progress bar on
stderr instead of the log lines.
"""

from __future__ import annotations

import logging
import threading
import time
import weakref
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass
from typing import Any, TypeVar

log = logging.getLogger(__name__)
T = TypeVar("T")

#: Seconds between two progress lines of one stage in the log.
DEFAULT_INTERVAL = 30.0


def format_duration(seconds: float) -> str:
    """``45s``, ``3m 05s``, ``2h 04m``."""
    seconds = max(0, round(seconds))
    if seconds < 60:
        return f"{seconds}s"
    if seconds < 3600:
        return f"{seconds // 60}m {seconds % 60:02d}s"
    return f"{seconds // 3600}h {seconds % 3600 // 60:02d}m"


@dataclass
class Stage:
    """One piece of long work: what is counted, how many are done, and when it started."""

    name: str
    unit: str
    total: int | None
    started: float
    done: int = 0
    last_report: float = 0.0
    reports: int = 0

    def rate(self, now: float) -> float:
        elapsed = now - self.started
        return self.done / elapsed if elapsed > 0 else 0.0

    def describe(self, now: float) -> str:
        """``<name>: <done> [of <total> (<pct>)], <rate> <unit>/s[, about <eta> left]``."""
        text = f"{self.name}: {self.done:,} "
        if self.total:
            text += f"of {self.total:,} {self.unit} ({100 * self.done / self.total:.0f}%)"
        else:
            text += self.unit
        rate = self.rate(now)
        text += f", {rate:,.0f} {self.unit}/s"
        if self.total and rate > 0 and self.done < self.total:
            text += f", about {format_duration((self.total - self.done) / rate)} left"
        return text


class Reporter:
    """Keeps the stages of a run and logs each at most once per ``interval`` seconds.

    :param interval: seconds between two lines of one stage.
    :param clock: a monotonic clock (tests inject a fake one).
    :param logger: where the lines go.
    """

    def __init__(
        self,
        interval: float = DEFAULT_INTERVAL,
        clock: Callable[[], float] = time.monotonic,
        logger: logging.Logger = log,
    ) -> None:
        self.interval = interval
        self.clock = clock
        self.logger = logger
        self._stages: dict[str, Stage] = {}
        # source -> counts of its completed passes through track()
        self._passes: weakref.WeakKeyDictionary[Any, list[int]] = weakref.WeakKeyDictionary()
        self._lock = threading.Lock()

    def expect(self, name: str, total: int | None, unit: str = "items") -> None:
        """Start (or restart) stage ``name``; ``total`` may be unknown (``None``)."""
        now = self.clock()
        stage = Stage(name, unit, total or None, started=now, last_report=now)
        with self._lock:
            self._stages[name] = stage
        self.started(stage)

    def advance(self, name: str, count: int, unit: str = "items") -> None:
        """``count`` more done in stage ``name`` (started on first use); finishes it at its total."""
        if name not in self._stages:
            self.expect(name, None, unit)
        now = self.clock()
        with self._lock:
            stage = self._stages.get(name)
            if stage is None:
                return
            stage.done += count
            due = now - stage.last_report >= self.interval
            if due:
                stage.last_report, stage.reports = now, stage.reports + 1
        self.advanced(stage, now, due)
        if stage.total is not None and stage.done >= stage.total:
            self.finish(name)

    def finish(self, name: str) -> None:
        """End stage ``name`` (a no-op when it already ended)."""
        with self._lock:
            stage = self._stages.pop(name, None)
        if stage is not None:
            self.finished(stage, self.clock())

    def track(
        self,
        name: str,
        items: Iterable[T],
        unit: str = "items",
        size: Callable[[T], int] = len,
        source: Any = None,
    ) -> Iterator[T]:
        """Yield ``items``, counting ``size(item)`` of each once the consumer is done with it.

        :param source: what ``items`` come from (e.g. the ``batches`` callable of a dataset); every
            further full pass over the same source is a stage ``<name>, pass <n>`` whose total is the
            count of the first pass, so it has an estimated time left.
        """
        try:
            passes = self._passes.setdefault(source, []) if source is not None else []
        except TypeError:  # a source that cannot be weakly referenced: no pass numbering
            passes = []
        label = name if not passes else f"{name}, pass {len(passes) + 1}"
        self.expect(label, passes[0] if passes else None, unit)
        count = 0
        try:
            for item in items:
                yield item
                count += size(item)
                self.advance(label, size(item), unit)
            passes.append(count)
        finally:
            self.finish(label)

    # --- what a reporter shows; the log reporter writes lines -------------------------------------

    def started(self, stage: Stage) -> None:
        """A stage began."""

    def advanced(self, stage: Stage, now: float, due: bool) -> None:
        """Counts changed; ``due`` when the cadence says a line is due."""
        if due:
            self.logger.info("%s", stage.describe(now))

    def finished(self, stage: Stage, now: float) -> None:
        """A stage ended: a closing line when it ran long enough to have reported."""
        if stage.reports:
            took = now - stage.started
            self.logger.info(
                "%s: %s %s done in %s (%s %s/s)",
                stage.name,
                f"{stage.done:,}",
                stage.unit,
                format_duration(took),
                f"{stage.rate(now):,.0f}",
                stage.unit,
            )


class BarReporter(Reporter):
    """A ``rich`` progress bar on stderr per stage, instead of log lines (the CLI on a terminal)."""

    def __init__(self, clock: Callable[[], float] = time.monotonic, console: Any = None) -> None:
        super().__init__(interval=0.0, clock=clock)
        from rich.console import Console
        from rich.progress import (
            BarColumn,
            MofNCompleteColumn,
            Progress,
            TextColumn,
            TimeElapsedColumn,
            TimeRemainingColumn,
        )

        self._progress = Progress(
            TextColumn("{task.description}"),
            BarColumn(),
            MofNCompleteColumn(),
            TextColumn("{task.fields[unit]}"),
            TextColumn("{task.fields[rate]}"),
            TimeElapsedColumn(),
            TimeRemainingColumn(),
            console=console or Console(stderr=True),
        )
        self._tasks: dict[str, Any] = {}

    def started(self, stage: Stage) -> None:
        if not self._tasks:
            self._progress.start()
        if stage.name in self._tasks:  # restarted
            self._progress.remove_task(self._tasks.pop(stage.name))
        self._tasks[stage.name] = self._progress.add_task(
            stage.name, total=stage.total, unit=stage.unit, rate=""
        )

    def advanced(self, stage: Stage, now: float, due: bool) -> None:
        task = self._tasks.get(stage.name)
        if task is not None:
            rate = f"{stage.rate(now):,.0f}/s"
            self._progress.update(task, completed=stage.done, rate=rate)

    def finished(self, stage: Stage, now: float) -> None:
        task = self._tasks.pop(stage.name, None)
        if task is None:
            return
        self._progress.update(task, completed=stage.done, total=stage.total or stage.done)
        if not self._tasks:  # nothing running: leave the finished bars printed, start afresh next time
            self._progress.stop()
            for finished in list(self._progress.task_ids):
                self._progress.remove_task(finished)


_default = Reporter()
_current: ContextVar[Reporter | None] = ContextVar("airflow_provider_clarify_progress", default=None)


def reporter() -> Reporter:
    """The reporter in charge: the one set by :func:`use` / :func:`use_bar`, else the log reporter."""
    return _current.get() or _default


def use(new: Reporter) -> Reporter:
    """Make ``new`` the reporter of this context (and of the code it calls); returns it."""
    _current.set(new)
    return new


@contextmanager
def using(new: Reporter) -> Iterator[Reporter]:
    """``new`` is the reporter in charge inside the ``with`` block only."""
    token = _current.set(new)
    try:
        yield new
    finally:
        _current.reset(token)


def use_bar(enabled: bool | None = None) -> Reporter:
    """The CLI's choice: a bar when ``enabled`` (``None``: when stderr is a terminal), else log lines."""
    import sys

    if enabled is None:
        enabled = sys.stderr.isatty()
    return use(BarReporter() if enabled else Reporter())


def expect(name: str, total: int | None, unit: str = "items") -> None:
    """:meth:`Reporter.expect` of the reporter in charge."""
    reporter().expect(name, total, unit)


def advance(name: str, count: int, unit: str = "items") -> None:
    """:meth:`Reporter.advance` of the reporter in charge."""
    reporter().advance(name, count, unit)


def track(
    name: str, items: Iterable[T], unit: str = "items", size: Callable[[T], int] = len, source: Any = None
) -> Iterator[T]:
    """:meth:`Reporter.track` of the reporter in charge."""
    return reporter().track(name, items, unit, size, source)


__all__ = [
    "BarReporter",
    "Reporter",
    "Stage",
    "advance",
    "expect",
    "format_duration",
    "reporter",
    "track",
    "use",
    "use_bar",
    "using",
]
