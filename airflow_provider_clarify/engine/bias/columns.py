"""From raw columns to boolean vectors: type detection, value matching, thresholds.

The rules are described in docs/bias-metrics.md ("From columns to groups").

The container reads datasets with pandas; the engine reads them with pyarrow. Each Arrow column is
first mapped to the pandas dtype the container would have seen (:func:`family_of`), then smclarify's
rules are applied to that dtype:

* **type detection**: ``category`` dtype or two or more values -> categorical; a string column
  that casts entirely to int64 with a uniqueness fraction ``u >= 0.05`` -> continuous; float ->
  continuous; int -> continuous iff ``u >= 0.05``; anything else categorical. ``u`` is the number of
  distinct non-null values divided by the number of non-null values.
* **categorical matching**: a row matches when its value equals one of the listed values; if no
  row matches at all, the values are converted to the Python type of the column's first element and
  matched again.
* **continuous thresholds**: the sensitive group / positive label is ``value > t``; the text
  reported is the pandas interval ``(t, max]`` built from the threshold and the column maximum.

Everything here works on one Arrow batch at a time; :class:`ColumnProfile` accumulates what the
rules need over a whole column in one streaming pass.
"""

from __future__ import annotations

import enum
import math
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from airflow_provider_clarify.engine.bias.errors import BiasAnalysisError

UNIQUENESS_THRESHOLD = 0.05
#: distinct values up to which a label / prediction column's value counts are kept (GE's mean, see
#: :mod:`.generalized_entropy`)
MAX_COUNTED_VALUES = 10_000
#: Distinct values kept for "did you mean" hints once a huge column stops tracking them all.
SAMPLE_VALUES = 1000
#: A cell that ``float()`` (hence pandas) reads as a number.
NUMBER_PATTERN = r"^\s*[+-]?(?:(?:[0-9]+\.?[0-9]*|\.[0-9]+)(?:e[+-]?[0-9]+)?|inf|infinity|nan)\s*$"

NO_POSITIVE_ELEMENTS = (
    "'label' has not positive elements. Double-check if 'label' and 'positive_label_values'"
    "have correct data-types or values."
)
NUMERIC_THRESHOLD_REQUIRED = (
    "Facet/label value provided must be a single numeric threshold for continuous data"
)
THRESHOLD_REQUIRED = "Threshold values must be provided for continuous features"


class Family(enum.Enum):
    """Value family of a column after decoding (the pandas dtype kind the container would see)."""

    INT = "int"
    FLOAT = "float"
    STR = "str"
    BOOL = "bool"


class ColumnType(enum.Enum):
    """smclarify's ``DataType``."""

    CATEGORICAL = "CATEGORICAL"
    CONTINUOUS = "CONTINUOUS"


def family_of(arrow_type: pa.DataType) -> tuple[Family, bool]:
    """Return ``(family, is_category)`` for an Arrow type.

    Dictionary arrays are pandas ``category`` columns (always categorical). Decimals are read as
    floats and temporal/other types as their string form (a documented simplification).
    """
    if pa.types.is_dictionary(arrow_type):
        family, _ = family_of(arrow_type.value_type)
        return family, True
    if pa.types.is_integer(arrow_type):
        return Family.INT, False
    if pa.types.is_floating(arrow_type) or pa.types.is_decimal(arrow_type) or pa.types.is_null(arrow_type):
        return Family.FLOAT, False
    if pa.types.is_boolean(arrow_type):
        return Family.BOOL, False
    return Family.STR, False


def check_groupable(arrow_type: pa.DataType, column: str) -> None:
    """Refuse nested columns (lists, structs, maps) as facet, label or group: their values have no
    order or equality that pandas (hence Clarify) could group by."""
    base = arrow_type.value_type if pa.types.is_dictionary(arrow_type) else arrow_type
    if pa.types.is_nested(base) or pa.types.is_union(base):
        raise BiasAnalysisError(
            f"Column '{column}' holds {base} values (nested data); a facet, label or group variable "
            "must hold numbers, text or booleans. Flatten the column, or pick another one."
        )


_CANONICAL = {
    Family.INT: pa.int64(),
    Family.FLOAT: pa.float64(),
    Family.STR: pa.string(),
    Family.BOOL: pa.bool_(),
}


def canonical(array: pa.Array | pa.ChunkedArray, family: Family) -> pa.Array:
    """Decode dictionaries and cast to the family's canonical Arrow type (int64/float64/string/bool)."""
    if isinstance(array, pa.ChunkedArray):
        array = array.combine_chunks()
    if pa.types.is_dictionary(array.type):
        array = array.dictionary_decode()
    target = _CANONICAL[family]
    if array.type != target:
        array = pc.cast(array, target)
    return array


def float_values(array: pa.Array) -> np.ndarray:
    """A numeric Arrow array as float64 numpy, nulls as NaN."""
    return np.asarray(pc.cast(array, pa.float64()).to_numpy(zero_copy_only=False), dtype=np.float64)


def python_value_text(value: Any, family: Family) -> str:
    """``str()`` of a column value as pandas would render it (ints without ``.0``, floats shortest repr)."""
    if value is None:
        return "nan"
    if family is Family.FLOAT:
        return repr(float(value))
    return str(value)


# --------------------------------------------------------------------------------------------------
# Whole-column statistics (first streaming pass)
# --------------------------------------------------------------------------------------------------


class DistinctTracker:
    """Distinct values of a column in order of first appearance (null included once), streamed.

    ``stop_at``: once more than this many distinct non-null values are seen, tracking stops and
    :attr:`exceeded` is set (used when only "at least this many" matters, to bound memory).
    """

    def __init__(self, stop_at: int | None = None, on_exceed: Any = None) -> None:
        self._parts: list[pa.Array] = []
        self._compact: pa.Array | None = None
        self._pending = 0
        self.stop_at = stop_at
        self.on_exceed = on_exceed  # called with the distinct values seen so far, before they are dropped
        self.exceeded = False

    def add(self, array: pa.Array, *, already_unique: bool = False) -> None:
        if self.exceeded:
            return
        uniq = array if already_unique else pc.unique(array)
        self._parts.append(uniq)
        self._pending += len(uniq)
        if self._pending > 4 * (len(self._compact) if self._compact is not None else 0) + 65536:
            self._compact_now()

    def _compact_now(self) -> None:
        parts = ([self._compact] if self._compact is not None else []) + self._parts
        if parts:
            self._compact = pc.unique(pa.concat_arrays(parts))
        self._parts = []
        self._pending = 0
        if self.stop_at is not None and self._compact is not None:
            if len(self._compact) - self._compact.null_count > self.stop_at:
                self.exceeded = True
                if self.on_exceed is not None:
                    self.on_exceed(self._compact)
                self._compact = None

    def values(self) -> pa.Array:
        """Distinct values (first-appearance order, at most one null)."""
        self._compact_now()
        if self._compact is None:
            return pa.array([])
        return self._compact

    def count_non_null(self) -> int:
        values = self.values()
        return len(values) - values.null_count


@dataclass
class ColumnProfile:
    """What the smclarify rules need to know about one whole column, gathered in one pass.

    :param name: column name.
    :param values: the user's values/threshold for this column (used for the "any row matches" test).
    :param track_distinct: keep distinct values (needed for the uniqueness fraction, one-vs-rest
        facets and group variables).
    :param distinct_limit: stop tracking beyond this many distinct values (the column is then known
        to be continuous); ``None`` keeps everything.
    :param distinct_for_floats: also keep distinct values of float columns (group variables).
    """

    name: str
    values: list | None = None
    track_distinct: bool = True
    distinct_limit: int | None = None
    distinct_for_floats: bool = False
    family: Family | None = None
    is_category: bool = False
    rows: int = 0
    nulls: int = 0  # nulls, plus NaN in float columns (pandas counts both as missing)
    first_value: Any = None
    first_is_null: bool = True
    max_value: Any = None
    int_castable: bool = True  # string columns: every value parses as int64 (pandas astype)
    any_match: bool = False
    distinct: DistinctTracker | None = field(default=None, repr=False)
    #: string columns, when ``probe_numbers``: cells that read as numbers / as text, and the first
    #: text cell as ``(0-based row, value)`` (a stray ``"thirty"`` in a numeric ``age`` column)
    probe_numbers: bool = False
    number_cells: int = 0
    text_cells: int = 0
    first_text: tuple[int, str] | None = None
    #: distinct values seen before tracking stopped (for "did you mean" hints)
    distinct_sample: list = field(default_factory=list, repr=False)
    _match_set: pa.Array | None = field(default=None, repr=False)
    #: keep the column's value counts (label and prediction when GE is requested), see :meth:`value_counts`
    count_values: bool = False
    _counted: list = field(default_factory=list, repr=False)
    _counted_entries: int = 0

    def update(self, raw: pa.Array | pa.ChunkedArray) -> None:
        """Fold one batch of the column into the statistics."""
        if self.family is None:
            check_groupable(raw.type, self.name)
            self.family, self.is_category = family_of(raw.type)
            floats_skipped = self.family is Family.FLOAT and not (
                self.is_category or self.distinct_for_floats
            )
            if self.track_distinct and not floats_skipped:
                self.distinct = DistinctTracker(self.distinct_limit, on_exceed=self._on_distinct_exceeded)
            if self.values:
                self._match_set = match_value_set(self.values, self.family)
        try:
            array = canonical(raw, self.family)
        except (pa.ArrowInvalid, pa.ArrowNotImplementedError) as exc:
            raise BiasAnalysisError(
                f"Column '{self.name}' of type {raw.type} cannot be read as {self.family.value} values: {exc}. "
                "Bias metrics need numbers, text (UTF-8) or booleans in facet, label and group columns."
            ) from exc
        n = len(array)
        if n == 0:
            return
        nulls = array.null_count
        if self.family is Family.FLOAT:
            arr = float_values(array)
            nulls = int(np.count_nonzero(np.isnan(arr)))
            finite = arr[~np.isnan(arr)]
            if finite.size:
                batch_max = float(finite.max())
                self.max_value = batch_max if self.max_value is None else max(self.max_value, batch_max)
        elif self.family is Family.INT:
            batch_max = pc.max(array).as_py()
            if batch_max is not None:
                self.max_value = batch_max if self.max_value is None else max(self.max_value, batch_max)
        uniq = None
        if self.family is Family.STR and self.int_castable:
            uniq = pc.unique(array)
            self._update_castable(uniq)
        if self.probe_numbers and self.family is Family.STR:
            self._probe_numbers(array)
        if self.rows == 0:
            first = array[0].as_py()
            self.first_is_null = first is None or (isinstance(first, float) and math.isnan(first))
            self.first_value = None if self.first_is_null else first
        self.rows += n
        if self.count_values:
            self._count_values(array)
        self.nulls += nulls
        if self.distinct is not None:
            if uniq is not None:
                self.distinct.add(uniq, already_unique=True)
            else:
                self.distinct.add(array)
        if self.distinct is None or self.distinct.exceeded:
            self._note_matches(array)

    def _on_distinct_exceeded(self, values: pa.Array) -> None:
        self.distinct_sample = pc.drop_null(values).to_pylist()[:SAMPLE_VALUES]
        self._note_matches(values)

    def _probe_numbers(self, array: pa.Array) -> None:
        """Count the cells that read as numbers and remember the first one that does not."""
        present = array.is_valid()
        numeric = pc.and_(pc.match_substring_regex(array, NUMBER_PATTERN, ignore_case=True), present)
        numbers = pc.sum(numeric).as_py() or 0
        texts = (len(array) - array.null_count) - numbers
        self.number_cells += numbers
        self.text_cells += texts
        if texts and self.first_text is None:
            text_mask = pc.and_(pc.invert(numeric), present)
            position = int(np.flatnonzero(np.asarray(text_mask.to_numpy(zero_copy_only=False)))[0])
            self.first_text = (self.rows + position, array[position].as_py())

    def occurring_values(self, limit: int = SAMPLE_VALUES) -> list:
        """Distinct non-missing values seen (first-appearance order; a sample for huge columns)."""
        if self.distinct is not None and not self.distinct.exceeded:
            values = [v for v in self.distinct.values().to_pylist() if v is not None]
        else:
            values = list(self.distinct_sample)
        return [v for v in values if not (isinstance(v, float) and math.isnan(v))][:limit]

    def _note_matches(self, array: pa.Array) -> None:
        """Record whether any listed value occurs in ``array`` (batch values or distinct values)."""
        if self._match_set is not None and len(self._match_set) and len(array) and not self.any_match:
            self.any_match = bool(pc.any(pc.is_in(array, value_set=self._match_set)).as_py())

    def _count_values(self, array: pa.Array) -> None:
        """Fold the batch's value counts in; give up (``count_values = False``) past ``MAX_COUNTED_VALUES``."""
        counted = pc.value_counts(array)
        self._counted.append((counted.field(0), counted.field(1)))
        self._counted_entries += len(counted)
        if self._counted_entries > 4 * MAX_COUNTED_VALUES:
            values, counts = self._merged_counts()
            if len(values) > MAX_COUNTED_VALUES:
                self.count_values = False
                self._counted = []
                return
            self._counted = [(values, counts)]
            self._counted_entries = len(values)

    def _merged_counts(self) -> tuple[pa.Array, pa.Array]:
        values = pa.concat_arrays([v for v, _ in self._counted])
        counts = pa.concat_arrays([c for _, c in self._counted])
        merged = pa.table({"v": values, "c": counts}).group_by("v").aggregate([("c", "sum")])
        return merged.column("v").combine_chunks(), merged.column("c_sum").combine_chunks()

    def value_counts(self) -> tuple[pa.Array, np.ndarray] | None:
        """(distinct values, rows per value) of the whole column (``count_values``), or ``None`` when
        the column has more than ``MAX_COUNTED_VALUES`` distinct values or was not counted."""
        if not self.count_values or not self._counted:
            return None
        values, counts = self._merged_counts()
        return values, np.asarray(counts.to_numpy(zero_copy_only=False), dtype=np.int64)

    def finish(self) -> None:
        """Settle facts derived at the end (whether a listed value occurs, from the distinct values)."""
        if self.distinct is not None and not self.distinct.exceeded:
            self._note_matches(self.distinct.values())

    def _update_castable(self, array: pa.Array) -> None:
        """``array``: the batch's distinct values (castability and maximum depend only on them)."""
        if array.null_count:
            self.int_castable = False
            return
        try:
            ints = pc.cast(array, pa.int64())
        except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
            self.int_castable = False
            return
        batch_max = pc.max(ints).as_py()
        if batch_max is not None:
            self.max_value = batch_max if self.max_value is None else max(self.max_value, batch_max)

    # ---- derived facts ---------------------------------------------------------------------------

    @property
    def pandas_family(self) -> Family:
        """The family pandas would give the column: integers with missing values become floats."""
        if self.family is Family.INT and self.nulls:
            return Family.FLOAT
        return self.family or Family.FLOAT

    @property
    def non_null(self) -> int:
        return self.rows - self.nulls

    def uniqueness(self) -> float:
        """Distinct non-null values / non-null values (``sdiv``); ``inf`` when tracking stopped early."""
        if self.distinct is None:
            return math.inf
        distinct = self.distinct.count_non_null()
        if self.distinct.exceeded:
            return math.inf
        if self.non_null == 0:
            return 0.0 if distinct == 0 else math.inf
        return distinct / self.non_null

    def max_is_integer(self) -> bool:
        """The continuous column's values are integers (int64 column or int-castable strings)."""
        return self.pandas_family is Family.INT or (self.family is Family.STR and self.int_castable)


def detect_type(profile: ColumnProfile, values: list | None) -> ColumnType:
    """smclarify's ``series_datatype`` (docs/bias-metrics.md, type detection) on the pandas view of the column."""
    if profile.is_category or (isinstance(values, list) and len(values) > 1):
        return ColumnType.CATEGORICAL
    family = profile.pandas_family
    if family is Family.STR:
        if profile.int_castable and profile.rows > 0 and profile.uniqueness() >= UNIQUENESS_THRESHOLD:
            return ColumnType.CONTINUOUS
        return ColumnType.CATEGORICAL
    if family is Family.FLOAT:
        return ColumnType.CONTINUOUS
    if family is Family.INT and profile.uniqueness() >= UNIQUENESS_THRESHOLD:
        return ColumnType.CONTINUOUS
    return ColumnType.CATEGORICAL


def numeric_threshold(values: list | None, what: str | None = None) -> float | int | None:
    """The single numeric threshold of a continuous column (``values[0]`` converted like smclarify).

    Returns ``None`` for an empty list (the caller decides whether that is an error). A first value
    that is neither int nor float (bool counts as int) is converted with ``float()``; failure is the
    whole-report error ``Facet/label value provided must be a single numeric threshold ...``,
    followed by ``what`` (the config field and column, with the fix) when given.
    """
    if not values:
        return None
    first = values[0]
    if isinstance(first, int | float):
        return first
    try:
        return float(first)
    except (TypeError, ValueError):
        message = NUMERIC_THRESHOLD_REQUIRED if what is None else f"{NUMERIC_THRESHOLD_REQUIRED}: {what}"
        raise BiasAnalysisError(message) from None


def is_single_number(values: list | None) -> bool:
    """``values`` is one int or float (not bool): a threshold for a continuous column."""
    return (
        isinstance(values, list)
        and len(values) == 1
        and isinstance(values[0], int | float)
        and not isinstance(values[0], bool)
    )


def did_you_mean(value: Any, candidates: list) -> str | None:
    """The candidate that ``value`` most likely misspells: equal ignoring case, else the closest
    by :func:`difflib.get_close_matches` (ratio >= 0.6); ``None`` when nothing is close."""
    import difflib

    text = str(value)
    names = [str(c) for c in candidates]
    for name in names:
        if name.lower() == text.lower() and name != text:
            return name
    close = difflib.get_close_matches(text, [n for n in names if n != text], n=1, cutoff=0.6)
    return close[0] if close else None


def values_text(values: list, limit: int = 20) -> str:
    """A short rendering of a column's distinct values for messages."""
    shown = values[:limit]
    more = f" and {len(values) - limit} more" if len(values) > limit else ""
    return f"{shown!r}{more}"


def interval_text(threshold: float | int, profile_max: Any, integer_column: bool) -> str:
    """pandas' ``IntervalIndex.from_breaks`` text for ``sorted([t, max])`` (docs/bias-metrics.md, continuous thresholds).

    The maximum is appended only when ``abs(max) != t``; a single break gives no interval (``""``).
    Ends are integers when both the threshold and the column are integers, else floats.
    """
    if profile_max is None or (isinstance(profile_max, float) and math.isnan(profile_max)):
        return ""
    if abs(profile_max) == threshold:
        return ""
    lo, hi = sorted([threshold, profile_max])
    if integer_column and isinstance(threshold, int):
        return f"({int(lo)}, {int(hi)}]"
    return f"({float(lo)!r}, {float(hi)!r}]"


# --------------------------------------------------------------------------------------------------
# Categorical values
# --------------------------------------------------------------------------------------------------


def match_value_set(values: list, family: Family) -> pa.Array:
    """The listed values that can equal a value of a column of ``family`` (pandas ``==`` semantics).

    Numbers match numeric columns by value (``1.0`` matches integer ``1``), strings match string
    columns, booleans match boolean columns; nothing else ever matches (as pandas' categorical ``==``).
    """
    kept: list[Any] = []
    for value in values:
        if family is Family.STR and isinstance(value, str):
            kept.append(value)
        elif family is Family.BOOL and isinstance(value, bool | np.bool_):
            kept.append(bool(value))
        elif family in (Family.INT, Family.FLOAT) and isinstance(value, int | float | np.number):
            if isinstance(value, bool | np.bool_):
                continue
            number = float(value) if isinstance(value, float | np.floating) else int(value)
            if isinstance(number, float) and math.isnan(number):
                continue
            if family is Family.INT:
                if isinstance(number, float):
                    if not number.is_integer():
                        continue
                    number = int(number)
                if not -(2**63) <= number < 2**63:
                    continue
                kept.append(number)
            else:
                kept.append(float(number))
    return pa.array(kept, type=_CANONICAL[family])


def _to_bool(value: Any) -> bool:
    """bool conversion for boolean columns, fixing smclarify's ``bool("False") is True`` (docs/parity.md)."""
    if isinstance(value, str):
        text = value.strip().lower()
        if text in ("true", "1"):
            return True
        if text in ("false", "0"):
            return False
        raise ValueError(f"value {value!r} is not a boolean; use true or false for a boolean column")
    return bool(value)


def _first_element_converter(profile: ColumnProfile) -> tuple[Any, type | tuple[type, ...]]:
    """Converter and "already that type" check for the Python type of the column's first element.

    pandas gives ``numpy.int64`` / ``numpy.float64`` / ``numpy.bool_`` for typed columns (never an
    instance of a user's JSON value, so values are always converted), ``str`` for strings and a plain
    ``float`` NaN when the first element is missing in an object (string/boolean) column.
    """
    family = profile.pandas_family
    if family is Family.INT:
        return int, ()
    if family is Family.FLOAT:
        return float, ()
    if profile.first_is_null:
        return float, (float,)
    if family is Family.STR:
        return str, (str,)
    return _to_bool, () if not profile.nulls else (bool,)


def convert_values(values: list, profile: ColumnProfile) -> list:
    """smclarify's ``convert_positive_label_values``: retype the values like the first element.

    Conversion failing with "invalid literal for int() with base 10" retries every value with
    ``float``; any other ``ValueError`` becomes the message ``NO_POSITIVE_ELEMENTS``.
    """
    converter, already = _first_element_converter(profile)
    if already and isinstance(values[0], already):
        return list(values)
    try:
        return [converter(v) for v in values]
    except ValueError as exc:
        if "invalid literal for int() with base 10" in str(exc):
            return [float(v) for v in values]
        if converter is _to_bool:
            raise
        raise ValueError(NO_POSITIVE_ELEMENTS) from None


# --------------------------------------------------------------------------------------------------
# Per-batch selection rules (second streaming pass)
# --------------------------------------------------------------------------------------------------


@dataclass
class CategoricalRule:
    """Row selected when its value is in ``value_set`` (already in the column's canonical type)."""

    family: Family
    value_set: pa.Array

    def select(self, raw: pa.Array) -> np.ndarray:
        array = canonical(raw, self.family)
        if not len(self.value_set):
            return np.zeros(len(array), dtype=bool)
        if self.family is not Family.STR and len(self.value_set) <= 4:
            # a few numeric/boolean values: vectorised comparisons beat hashing
            values = array.to_numpy(zero_copy_only=False)
            selected = np.zeros(len(array), dtype=bool)
            for value in self.value_set.to_pylist():
                selected |= values == value
            if array.null_count:
                selected &= np.asarray(array.is_valid().to_numpy(zero_copy_only=False), dtype=bool)
            return selected
        mask = pc.is_in(array, value_set=self.value_set)
        return np.asarray(mask.to_numpy(zero_copy_only=False), dtype=bool)


@dataclass
class ContinuousRule:
    """Row selected when its numeric value is greater than ``threshold`` (NaN never selected).

    ``truncate_to_int``: the predicted-label column is first cast to the label's int64 dtype, which
    truncates floats toward zero; missing or infinite values make that cast fail (whole report).
    """

    family: Family
    threshold: float | int
    truncate_to_int: bool = False
    column: str = ""

    def select(self, raw: pa.Array) -> np.ndarray:
        array = canonical(raw, self.family)
        if self.family is Family.STR:
            array = pc.cast(array, pa.int64())
        if self.family in (Family.INT, Family.STR) and array.null_count == 0:
            values: np.ndarray = array.to_numpy()
        else:
            values = float_values(array)
            if self.truncate_to_int:
                if not np.all(np.isfinite(values)):
                    raise BiasAnalysisError(
                        "Cannot convert non-finite values (NA or inf) to integer "
                        f"(predicted label column '{self.column}' has missing values while the label "
                        "column is integer)"
                    )
                values = np.trunc(values).astype(np.int64)
        return values > self.threshold
