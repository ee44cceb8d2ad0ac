"""Shared machinery of the config classes: deferred validation for Jinja templates, SDK-style getters.

Airflow renders ``template_fields`` *after* an operator (and the config objects it holds) was
constructed. A templated field therefore may still hold ``"s3://b/{{ ds }}/train.csv"`` when the
constructor runs: checks that read such a field are skipped there and run again, strictly, when
:meth:`ClarifyConfig.to_dict` is called after rendering.
"""

from __future__ import annotations

import copy
from collections.abc import Sequence
from typing import Any, ClassVar

_JINJA_MARKERS = ("{{", "{%", "{#")


def is_template(value: Any) -> bool:
    """Whether ``value`` is a string that still contains Jinja markup (not rendered yet)."""
    return isinstance(value, str) and any(marker in value for marker in _JINJA_MARKERS)


def contains_template(value: Any) -> bool:
    """Whether ``value`` or any string nested in lists/tuples/dicts inside it is an unrendered template."""
    if is_template(value):
        return True
    if isinstance(value, list | tuple):
        return any(contains_template(item) for item in value)
    if isinstance(value, dict):
        return any(contains_template(item) for item in value.values())
    return False


def put(target: dict[str, Any], key: str, value: Any) -> None:
    """Add ``key`` only when ``value`` is not ``None`` (the SDK's emission rule for optional keys)."""
    if value is not None:
        target[key] = value


def one_of(values: Sequence[str]) -> str:
    """``'a', 'b' or 'c'`` for error messages."""
    quoted = [repr(v) for v in values]
    return quoted[0] if len(quoted) == 1 else ", ".join(quoted[:-1]) + " or " + quoted[-1]


def is_member(value: Any, allowed: Sequence[Any]) -> bool:
    """``value in allowed`` that never raises (odd objects with a failing ``__eq__`` are not members)."""
    try:
        return value in allowed
    except Exception:
        return False


class ClarifyConfig:
    """Base of every config class.

    Subclasses are dataclasses whose fields carry the SageMaker SDK keyword names. They implement
    :meth:`_check` (constructor validation, written once for both modes) and :meth:`_build` (the
    JSON fragment, in the SDK's key order).
    """

    #: Attributes Airflow renders with Jinja when the object is (inside) an operator argument.
    template_fields: ClassVar[tuple[str, ...]] = ()

    def __post_init__(self) -> None:
        self._check(strict=False)

    # -- hooks for subclasses -----------------------------------------------------------------------
    def _check(self, strict: bool) -> None:
        """Validate the fields; with ``strict=False`` skip checks that read unrendered templates."""

    def _build(self) -> Any:
        raise NotImplementedError

    # -- helpers ------------------------------------------------------------------------------------
    def _ready(self, strict: bool, *names: str) -> bool:
        """Whether checks reading ``names`` may run now (always when strict; else only if rendered)."""
        if strict:
            return True
        return not any(
            name in self.template_fields and contains_template(getattr(self, name)) for name in names
        )

    # -- public API ---------------------------------------------------------------------------------
    def validate(self) -> None:
        """Run every constructor check again on the current (e.g. Jinja-rendered) field values."""
        self._check(strict=True)

    def to_dict(self) -> Any:
        """The JSON fragment this config contributes to ``analysis_config.json`` (a fresh copy).

        Runs the constructor checks strictly first, so values rendered by Airflow are validated.
        """
        self._check(strict=True)
        return copy.deepcopy(self._build())
