"""Schedules and analysis windows of Model Monitor: cron helpers, ISO 8601 offsets, ``NOW`` windows.

* :class:`CronExpressionGenerator` returns exactly the SDK's strings.
* :func:`parse_offset` reads the ``StartTimeOffset`` / ``EndTimeOffset`` durations (``-PT1H``, ``-P1D``)
  and :func:`analysis_window` turns a scheduled time plus offsets into the ``[start, end)`` window
  Model Monitor analyses.
* :func:`schedule_period_seconds` is what ``MaxRuntimeInSeconds`` is checked against.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from typing import Any

from airflow_provider_clarify.analysis.errors import ClarifyConfigError

NOW = "NOW"
#: Model Monitor's offsets when the job definition has none: the hour before the scheduled time.
DEFAULT_START_OFFSET = "-PT1H"
DEFAULT_END_OFFSET = "-PT0H"
#: A one-time (``NOW``) schedule may analyse at most this much data.
MAX_ONE_TIME_WINDOW = timedelta(hours=24)
HOUR = 3600
DAY = 86_400


class CronExpressionGenerator:
    """The SDK's ``CronExpressionGenerator``: schedule expressions Model Monitor accepts."""

    @staticmethod
    def hourly() -> str:
        return "cron(0 * ? * * *)"

    @staticmethod
    def daily(hour: int = 0) -> str:
        return f"cron(0 {hour} ? * * *)"

    @staticmethod
    def daily_every_x_hours(hour_interval: int, starting_hour: int = 0) -> str:
        return f"cron(0 {starting_hour}/{hour_interval} ? * * *)"

    @staticmethod
    def now() -> str:
        return NOW


# --- ISO 8601 offsets ---------------------------------------------------------------------------------
_OFFSET_API_PATTERN = re.compile(r".?P.*")
_DURATION = re.compile(
    r"(?P<sign>[-+]?)P(?:(?P<weeks>\d+)W)?(?:(?P<days>\d+)D)?"
    r"(?:T(?:(?P<hours>\d+)H)?(?:(?P<minutes>\d+)M)?(?:(?P<seconds>\d+)S)?)?"
)
_OFFSET_HELP = (
    "a negative ISO 8601 duration of 1-15 characters such as '-PT1H', '-PT0H', '-P1D' or '-P1DT12H'"
)


def parse_offset(value: Any, field: str = "StartTimeOffset") -> timedelta:
    """A ``StartTimeOffset`` / ``EndTimeOffset`` as a (zero or negative) :class:`timedelta`.

    Accepts what the API accepts for Model Monitor: 1-15 characters, a leading ``-`` and a duration in
    weeks, days, hours, minutes and seconds (``-P1W``, ``-P8D``, ``-PT1H``, ``-PT0H``). Years and months
    have no fixed length, so they are rejected with the equivalent in days as the fix.
    """
    if not isinstance(value, str) or not 1 <= len(value) <= 15 or not _OFFSET_API_PATTERN.fullmatch(value):
        raise ClarifyConfigError.invalid(field, value, _OFFSET_HELP)
    match = _DURATION.fullmatch(value)
    if match is None or value.rstrip("T").endswith("P") or value.endswith("T"):
        advice = (
            f"Accepted: {_OFFSET_HELP}. Years and months are not fixed lengths: use days (e.g. '-P30D')."
            if re.search(r"P\d+[YM]", value)
            else f"Accepted: {_OFFSET_HELP}."
        )
        raise ClarifyConfigError.invalid(field, value, _OFFSET_HELP, advice)
    parts = {k: int(v) for k, v in match.groupdict().items() if k != "sign" and v}
    delta = timedelta(**parts)
    if delta and match.group("sign") != "-":
        raise ClarifyConfigError.invalid(
            field,
            value,
            _OFFSET_HELP,
            f"Offsets point back from the scheduled time, so they must be negative: use '-{value.lstrip('+')}'.",
        )
    return -delta


def format_offset(delta: timedelta) -> str:
    """A non-positive :class:`timedelta` as the shortest offset text (``-PT1H``, ``-P1D``, ``-PT0H``)."""
    seconds = int(-delta.total_seconds())
    if seconds < 0:
        raise ValueError("offsets are zero or negative")
    days, rest = divmod(seconds, DAY)
    hours, rest = divmod(rest, HOUR)
    minutes, secs = divmod(rest, 60)
    time_part = "".join(f"{n}{u}" for n, u in ((hours, "H"), (minutes, "M"), (secs, "S")) if n)
    if not days and not time_part:
        return "-PT0H"
    return "-P" + (f"{days}D" if days else "") + (f"T{time_part}" if time_part else "")


def check_window_offsets(
    start_offset: Any, end_offset: Any, *, prefix: str = ""
) -> tuple[timedelta, timedelta]:
    """Both offsets parsed, ``start < end`` (a window that selects nothing is an error)."""
    start = parse_offset(
        start_offset if start_offset is not None else DEFAULT_START_OFFSET, f"{prefix}StartTimeOffset"
    )
    end = parse_offset(end_offset if end_offset is not None else DEFAULT_END_OFFSET, f"{prefix}EndTimeOffset")
    if start >= end:
        raise ClarifyConfigError(
            f"{prefix}StartTimeOffset {start_offset!r} is not before {prefix}EndTimeOffset {end_offset!r}: "
            "the analysis window would select no records. The start offset must be more negative than "
            "the end offset, e.g. StartTimeOffset='-PT2H', EndTimeOffset='-PT1H'.",
            field=f"{prefix}StartTimeOffset",
            value=start_offset,
            accepted="an offset earlier than EndTimeOffset",
        )
    return start, end


def analysis_window(
    scheduled_time: datetime, start_offset: str | None = None, end_offset: str | None = None
) -> tuple[datetime, datetime]:
    """The ``[start, end)`` UTC window of the execution scheduled at ``scheduled_time``."""
    start, end = check_window_offsets(start_offset, end_offset)
    moment = as_utc(scheduled_time)
    return moment + start, moment + end


def as_utc(moment: datetime | str) -> datetime:
    """A timezone-aware UTC datetime (naive values are taken as UTC; ISO text is parsed)."""
    if isinstance(moment, str):
        try:
            moment = datetime.fromisoformat(moment.strip().replace("Z", "+00:00"))
        except ValueError:
            raise ClarifyConfigError.invalid(
                "scheduled_time", moment, "an ISO 8601 date-time such as '2024-05-01T13:00:00Z'"
            ) from None
    if not isinstance(moment, datetime):
        raise ClarifyConfigError.invalid("scheduled_time", moment, "a datetime or ISO 8601 text")
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment.astimezone(UTC)


# --- schedule expressions -----------------------------------------------------------------------------
_CRON = re.compile(r"cron\((?P<fields>[^()]*)\)")
_EXPRESSION_HELP = (
    "'NOW' or a cron(...) expression with minute 0, e.g. CronExpressionGenerator.hourly() "
    "'cron(0 * ? * * *)', .daily(hour) 'cron(0 H ? * * *)', .daily_every_x_hours(n, start) "
    "'cron(0 S/N ? * * *)'"
)


def _hours(field: str, expression: str) -> list[int]:
    hours: set[int] = set()
    for part in field.split(","):
        step_match = re.fullmatch(r"(\*|\d+)(?:-(\d+))?(?:/(\d+))?", part)
        if step_match is None:
            raise ClarifyConfigError.invalid("schedule_cron_expression", expression, _EXPRESSION_HELP)
        first, last, step = step_match.groups()
        low = 0 if first == "*" else int(first)
        high = 23 if first == "*" or (step and last is None) else int(last or first)
        interval = int(step or 1)
        if not (0 <= low <= 23 and 0 <= high <= 23 and low <= high and 1 <= interval <= 24):
            raise ClarifyConfigError.invalid("schedule_cron_expression", expression, _EXPRESSION_HELP)
        hours.update(range(low, high + 1, interval))
    return sorted(hours)


def schedule_period_seconds(expression: Any) -> int | None:
    """The shortest time between two executions of ``expression`` (None for ``NOW``).

    Raises :class:`ClarifyConfigError` for an expression Model Monitor does not accept: it runs at most
    hourly, at the top of the hour (minute ``0``), with the SDK's six-field cron syntax.
    """
    if expression == NOW:
        return None
    if not isinstance(expression, str) or not 1 <= len(expression) <= 256:
        raise ClarifyConfigError.invalid("schedule_cron_expression", expression, _EXPRESSION_HELP)
    match = _CRON.fullmatch(expression.strip())
    fields = match.group("fields").split() if match else []
    if len(fields) != 6 or fields[0] != "0":
        raise ClarifyConfigError.invalid(
            "schedule_cron_expression",
            expression,
            _EXPRESSION_HELP,
            f"Accepted: {_EXPRESSION_HELP}. Model Monitor runs at most hourly, at minute 0, and its cron has "
            "six fields (minutes hours day-of-month month day-of-week year).",
        )
    hours = _hours(fields[1], expression)
    every_day = fields[2] in ("?", "*") and fields[3] == "*" and fields[4] in ("?", "*")
    if not every_day:
        return DAY if len(hours) == 1 else min(b - a for a, b in zip(hours, hours[1:], strict=False)) * HOUR
    gaps = [b - a for a, b in zip(hours, hours[1:], strict=False)] + [hours[0] + 24 - hours[-1]]
    return min(gaps) * HOUR


def check_max_runtime(
    max_runtime_in_seconds: Any, schedule_expression: Any, monitoring_type: str
) -> int | None:
    """``MaxRuntimeInSeconds`` within 1-86400 and within the schedule period.

    For hourly schedules Model Monitor allows 1800 s to a bias job (the ground-truth merge job shares
    the hour) and 3600 s to an explainability job.
    """
    if max_runtime_in_seconds is None:
        return None
    value = max_runtime_in_seconds
    if isinstance(value, str) and value.strip().isdigit():
        value = int(value.strip())
    if isinstance(value, bool) or not isinstance(value, int) or not 1 <= value <= DAY:
        raise ClarifyConfigError.invalid(
            "max_runtime_in_seconds", max_runtime_in_seconds, "an integer from 1 to 86400"
        )
    period = schedule_period_seconds(schedule_expression) if schedule_expression is not None else None
    if period is None:
        return value
    limit = period
    if period == HOUR:
        limit = 1800 if monitoring_type == "ModelBias" else HOUR
    if value > limit:
        raise ClarifyConfigError(
            f"max_runtime_in_seconds is {value}, longer than the {limit} s a {monitoring_type} job may run on "
            f"the schedule {schedule_expression!r} (an execution must end before the next one starts"
            + (
                "; hourly bias jobs get 1800 s because the ground-truth merge shares the hour"
                if limit == 1800
                else ""
            )
            + f"). Set max_runtime_in_seconds <= {limit} or schedule less often.",
            field="max_runtime_in_seconds",
            value=value,
            accepted=f"an integer from 1 to {limit}",
        )
    return value


def check_one_time_window(expression: Any, start_time: Any, end_time: Any) -> None:
    """The SDK's and API's rules for ``data_analysis_start_time`` / ``data_analysis_end_time``."""
    if expression == NOW:
        if start_time is None or end_time is None:
            raise ClarifyConfigError(
                "Both data_analysis_start_time and data_analysis_end_time are required for one time "
                "monitoring schedule (schedule_cron_expression='NOW'), e.g. '-PT5H' and '-PT1H'.",
                field="data_analysis_start_time" if start_time is None else "data_analysis_end_time",
                value=None,
                accepted="an offset such as '-PT5H'",
            )
        start, end = check_window_offsets(start_time, end_time, prefix="data_analysis_")
        if end - start > MAX_ONE_TIME_WINDOW:
            raise ClarifyConfigError(
                f"The one-time window {start_time!r} .. {end_time!r} spans {format_offset(start - end)[1:]}; "
                "a NOW schedule may analyse at most 24 hours. Move data_analysis_start_time closer to "
                "data_analysis_end_time (e.g. '-PT24H' .. '-PT0H') or use several one-time schedules.",
                field="data_analysis_start_time",
                value=start_time,
                accepted="a window of at most 24 hours",
            )
    else:
        for field, value in (("data_analysis_start_time", start_time), ("data_analysis_end_time", end_time)):
            if value is not None:
                parse_offset(value, field)
