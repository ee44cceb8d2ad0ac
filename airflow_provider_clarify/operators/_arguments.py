"""Rendered operator arguments, checked: Jinja turns numbers and booleans into text, so every operator
argument that may be templated is cast here, and a value that cannot be cast fails with a
:class:`~airflow_provider_clarify.analysis.errors.ClarifyConfigError` naming the argument, the value
and what is accepted.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from airflow_provider_clarify.analysis.errors import ClarifyConfigError


def as_int(field: str, value: Any, *, minimum: int | None = None, optional: bool = False) -> int | None:
    """Cast a templated integer argument (Jinja renders strings) or raise a typed config error."""
    if value is None and optional:
        return None
    try:
        if isinstance(value, bool):
            raise TypeError
        number = int(value)
        if isinstance(value, float) and number != value:
            raise ValueError
    except (TypeError, ValueError):
        raise ClarifyConfigError(
            f"{field} is {value!r}; expected a whole number", field=field, value=value, accepted="an integer"
        ) from None
    if minimum is not None and number < minimum:
        raise ClarifyConfigError(
            f"{field} is {value!r}; expected a whole number >= {minimum}",
            field=field,
            value=value,
            accepted=f"an integer >= {minimum}",
        )
    return number


def as_seconds(field: str, value: Any) -> float:
    """Cast a templated positive number of seconds (e.g. ``check_interval``) or raise a typed config error."""
    try:
        if isinstance(value, bool):
            raise TypeError
        seconds = float(value)
    except (TypeError, ValueError):
        seconds = float("nan")
    if not seconds > 0:
        raise ClarifyConfigError(
            f"{field} is {value!r}; expected a positive number of seconds",
            field=field,
            value=value,
            accepted="a number > 0",
        )
    return seconds


def has_template(value: Any) -> bool:
    """Whether a (nested) argument still holds Jinja, i.e. can only be validated after rendering."""
    if isinstance(value, str):
        return "{{" in value or "{%" in value
    if isinstance(value, Mapping):
        return any(has_template(k) or has_template(v) for k, v in value.items())
    if isinstance(value, list | tuple | set):
        return any(has_template(v) for v in value)
    return not isinstance(value, int | float | bool | type(None)) and hasattr(value, "resolve")


def as_bool(name: str, value: Any) -> bool:
    """A boolean argument; rendered templates arrive as ``"True"``/``"false"``."""
    if isinstance(value, bool):
        return value
    if isinstance(value, str) and value.strip().lower() in ("true", "false", "1", "0", "yes", "no"):
        return value.strip().lower() in ("true", "1", "yes")
    raise ClarifyConfigError(
        f"{name} is {value!r}; expected True or False",
        field=name,
        value=value,
        accepted="a boolean (or the text 'true'/'false' from a template)",
    )


def optional_uri(name: str, value: Any) -> str | None:
    if value is None or (isinstance(value, str) and not value.strip()):
        return None
    if not isinstance(value, str):
        raise ClarifyConfigError(
            f"{name} is {value!r}; expected a URI string",
            field=name,
            value=value,
            accepted="an s3:// URI, a file:// URI or a local path",
        )
    return value.strip()
