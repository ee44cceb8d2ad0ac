"""Serialising ``analysis.json`` the way the Clarify container does, and writing it atomically.

Conventions (what the Clarify container writes; see ``docs/parity.md``):

* numbers use Python's shortest round-trip representation (``0.1745562130177516``, ``0.0``); an
  integer stays an integer (the ``0`` of the "both infinite" rule is written ``0``);
* ``+inf`` / ``-inf`` become the strings ``"Infinity"`` / ``"-Infinity"`` and NaN becomes ``"NaN"``,
  so the file is strict JSON that every parser accepts (``AnalysisResult`` turns them back);
* key order is preserved exactly as built (the container's order is part of the format);
* numpy scalars and arrays are converted to plain Python numbers/lists first.
"""

from __future__ import annotations

import json
import math
from typing import Any

from airflow_provider_clarify.locations import ANALYSIS_FILE


def _to_plain(value: Any) -> Any:
    """Recursively convert numpy values to Python ones and non-finite floats to strings."""
    if isinstance(value, bool) or value is None or isinstance(value, str):
        return value
    if isinstance(value, int):
        return int(value)
    if isinstance(value, float):
        if math.isnan(value):
            return "NaN"
        if math.isinf(value):
            return "Infinity" if value > 0 else "-Infinity"
        return float(value)
    if isinstance(value, dict):
        return {str(k): _to_plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_to_plain(v) for v in value]
    # numpy scalars / arrays without importing numpy here
    tolist = getattr(value, "tolist", None)
    if tolist is not None:
        return _to_plain(tolist())
    item = getattr(value, "item", None)
    if item is not None:
        return _to_plain(item())
    raise TypeError(f"Cannot serialise {type(value).__name__} value {value!r} into analysis.json")


def dumps_analysis(analysis: dict, *, indent: int | None = 4) -> str:
    """``analysis`` as JSON text in the container's conventions (see the module docstring).

    >>> dumps_analysis({"value": float("inf"), "x": [0, 0.5]}, indent=None)
    '{"value": "Infinity", "x": [0, 0.5]}'
    """
    return json.dumps(_to_plain(analysis), indent=indent, allow_nan=False, ensure_ascii=False)


def write_analysis(output: Any, analysis: dict) -> str:
    """Atomically write ``analysis.json`` into ``output`` (an :class:`~.io.OutputLocation`); returns its URI."""
    return output.write_text(ANALYSIS_FILE, dumps_analysis(analysis) + "\n")


__all__ = ["dumps_analysis", "write_analysis"]
