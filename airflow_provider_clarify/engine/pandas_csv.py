"""pandas' CSV reading rules, applied to data that pyarrow reads.

The Clarify container reads CSV datasets with ``pandas.read_csv`` (pandas 1.x/2.x), and the bias
metrics depend on what it produces: the dtype of a column decides categorical versus continuous,
and the exact float values decide threshold membership and the ``(t, max]`` interval text. pyarrow
differs from pandas in three places that occur in real files; this module holds pandas' rules for
them:

* **missing-value tokens** — pandas' default ``na_values`` also contain ``None`` and ``<NA>``, which
  pyarrow keeps as text (:data:`NA_VALUES`);
* **boolean tokens** — pandas recognises only ``True/TRUE/true`` and ``False/FALSE/false``; pyarrow
  also takes ``1``/``0``, turning a ``True, 1, 0`` column into booleans that pandas keeps as text
  (:data:`TRUE_VALUES`, :data:`FALSE_VALUES`);
* **decimal numbers** — pandas' default float converter (``float_precision=None``, the C parser's
  "precise" ``xstrtod``) is not correctly rounded. It accumulates at most 17 leading digits in a
  double (``number = number * 10 + digit``, each step rounded), then scales once by an exact-as-
  possible power of ten (``number * 1eK`` or ``number / 1eK``). Numbers written with 16 or more
  significant digits (as R's ``write.csv`` and ``repr`` of computed floats do) therefore often
  differ from the correctly rounded value by an ulp: ``186.63400000000001`` becomes ``186.634``.
  :func:`pandas_float_values` reproduces that arithmetic, vectorised.

Numbers with at most 15 digits and no exponent are exact integers scaled by one exactly
representable power of ten, so both converters give the same, correctly rounded value.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import numpy as np
    import pyarrow as pa

#: ``pandas.read_csv``'s default missing-value tokens (``keep_default_na=True``).
NA_VALUES = (
    "",
    "#N/A",
    "#N/A N/A",
    "#NA",
    "-1.#IND",
    "-1.#QNAN",
    "-NaN",
    "-nan",
    "1.#IND",
    "1.#QNAN",
    "<NA>",
    "N/A",
    "NA",
    "NULL",
    "NaN",
    "None",
    "n/a",
    "nan",
    "null",
)
#: Tokens pandas' C parser reads as booleans (a column of only these becomes ``bool``).
TRUE_VALUES = ("True", "TRUE", "true")
FALSE_VALUES = ("False", "FALSE", "false")

#: The C parser keeps at most this many leading digits of a decimal number.
MAX_DIGITS = 17
#: Largest decimal exponent the C parser scales by (beyond: out of range).
MAX_EXPONENT = 308
#: Cells converted by one :func:`_xstrtod` call (its temporaries take ~200 bytes a cell).
XSTRTOD_BLOCK_CELLS = 1 << 16
_NUMBER = r"^\s*(?P<sign>[+-]?)(?P<whole>[0-9]*)(?:\.(?P<fraction>[0-9]*))?(?:[eE](?P<exp>[+-]?[0-9]+))?\s*$"


def _powers_of_ten():
    import numpy as np

    # the C parser's table of double literals 1e0 .. 1e308 (each correctly rounded)
    return np.array([float(f"1e{k}") for k in range(MAX_EXPONENT + 1)], dtype=np.float64)


def pandas_float_values(text: pa.Array | pa.ChunkedArray) -> pa.Array:
    """float64 values of a column of decimal strings as ``pandas.read_csv`` computes them.

    ``text`` holds the column's cells (nulls for missing values). Cells that are not plain decimal
    numbers (``inf``, ``Infinity``, ``nan`` ...) are converted by pyarrow, which agrees with pandas
    on them. Raises ``pyarrow.ArrowInvalid`` when a cell is not a number at all.
    """
    return _convert(text)[0]


def _convert(
    text: pa.Array | pa.ChunkedArray, correctly_rounded: pa.Array | None = None
) -> tuple[pa.Array, np.ndarray | None]:
    """(:func:`pandas_float_values`, the rows of the cells pandas refuses as numbers, or ``None``).

    pandas refuses a number out of range (``1e309``) and a NaN spelling that is not one of its
    missing-value tokens (``NAN``, ``Nan``, ``+nan``: pyarrow reads them as NaN).

    Only cells that can differ from the correctly rounded value go through :func:`_xstrtod`: a cell
    of at most 15 bytes without an exponent holds at most 15 digits, an integer below
    ``10**15 < 2**53`` that the parser accumulates exactly and scales by one exact power of ten
    (at most ``10**15``), a single correctly rounded operation. ``correctly_rounded``: pyarrow's
    conversion of the trimmed cells when the caller already has it.
    """
    import numpy as np
    import pyarrow as pa
    import pyarrow.compute as pc

    if isinstance(text, pa.ChunkedArray):
        text = text.combine_chunks()
    text = text.cast(pa.string())
    fallback = (
        correctly_rounded
        if correctly_rounded is not None
        else pc.cast(pc.utf8_trim_whitespace(text), pa.float64())
    )
    if isinstance(fallback, pa.ChunkedArray):
        fallback = fallback.combine_chunks()
    not_a_number = pc.and_(pc.is_nan(fallback), text.is_valid()).fill_null(False)
    refused = (
        np.flatnonzero(np.asarray(not_a_number.to_numpy(zero_copy_only=False), dtype=bool))
        if pc.any(not_a_number).as_py()
        else np.zeros(0, dtype=np.int64)
    )
    # only long numbers and numbers with an exponent can differ from the correctly rounded value
    # (bytes >= characters, so the byte length is a safe, cheaper test)
    suspect = pc.or_(
        pc.greater(pc.binary_length(text), 15), pc.match_substring(text, "e", ignore_case=True)
    ).fill_null(False)
    if not pc.any(suspect).as_py():
        return fallback, refused if len(refused) else None
    rows = np.flatnonzero(np.asarray(suspect.to_numpy(zero_copy_only=False), dtype=bool))
    del suspect
    values = np.array(fallback.fill_null(np.nan).to_numpy(zero_copy_only=False), dtype=np.float64)
    del fallback
    # in blocks: _xstrtod's temporaries (a 17-byte digit matrix and a dozen arrays a cell) stay
    # bounded by the block, not by the column
    out_of_range = [refused]
    for start in range(0, len(rows), XSTRTOD_BLOCK_CELLS):
        block = rows[start : start + XSTRTOD_BLOCK_CELLS]
        values[block], failed = _xstrtod(text.take(pa.array(block)), values[block])
        out_of_range.append(block[failed])
    mask = np.asarray(text.is_null().to_numpy(zero_copy_only=False))
    return pa.array(values, type=pa.float64(), mask=mask), np.sort(np.concatenate(out_of_range))


_INTEGER = r"^\s*[+-]?[0-9]+\s*$"


def pandas_integer_values(
    text: pa.Array | pa.ChunkedArray, *, allow_missing: bool = False
) -> pa.Array | None:
    """int64 values when pandas would read the column as integers although pyarrow saw floats.

    pyarrow infers ``+5`` (a leading plus) as a float; pandas reads a column whose cells are all
    integer literals, none missing, as int64. With ``allow_missing``, missing cells are allowed and
    stay null: pandas parses the other cells as integers too, then casts the column to float64
    (so ``-0`` is ``0.0``, not the float parser's ``-0.0``). Returns ``None`` when some present cell
    is not an integer literal, or no cell is present.
    """
    import pyarrow as pa
    import pyarrow.compute as pc

    if isinstance(text, pa.ChunkedArray):
        text = text.combine_chunks()
    text = text.cast(pa.string())
    if (text.null_count and not allow_missing) or len(text) == text.null_count:
        return None
    if not pc.all(pc.match_substring_regex(text, _INTEGER)).as_py():
        return None
    digits = pc.replace_substring_regex(pc.utf8_trim_whitespace(text), r"^\+", "")
    try:
        return pc.cast(digits, pa.int64())
    except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
        return None  # beyond int64: pandas' own rules (uint64 / float) are not reproduced


def overflows(text: pa.Array | pa.ChunkedArray) -> str | None:
    """The first cell of ``text`` that pyarrow reads as a float and pandas refuses as a number.

    pandas' C parser refuses a decimal number whose scaled exponent exceeds 308 or whose value is
    beyond the double range (``1e309``, ``100e307``, even ``0e309``), and a NaN spelling other than
    its missing-value tokens (``NAN``, ``Nan``, ``+nan``; ``NaN`` and ``nan`` are missing values):
    the whole column stays text (``inf`` / ``Infinity`` written as such are numbers). Returns
    ``None`` when pandas reads every cell as a number.
    """
    return pandas_float_column(text)[1]


def pandas_float_column(
    text: pa.Array | pa.ChunkedArray, *, correctly_rounded: pa.Array | None = None
) -> tuple[pa.Array, str | None]:
    """:func:`pandas_float_values` and :func:`overflows` of ``text`` in one conversion.

    ``correctly_rounded``: pyarrow's float64 conversion of the (trimmed) cells, when the caller has
    it already (the streaming reader validates a float column with that cast); only the cells whose
    text can round differently are then converted again.
    """
    import pyarrow as pa

    values, rows = _convert(text, correctly_rounded)
    if rows is None or not len(rows):
        return values, None
    if isinstance(text, pa.ChunkedArray):
        text = text.combine_chunks()
    return values, text[int(rows[0])].as_py()


def _xstrtod(text: pa.Array, fallback: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The C parser's digit accumulation and scaling, for every cell of ``text`` (no nulls).

    Returns the values and a mask of the cells the parser reports out of range (``ERANGE``).
    """
    import numpy as np
    import pyarrow as pa
    import pyarrow.compute as pc

    parts = pc.extract_regex(text, _NUMBER)  # struct; null where the cell is no plain number
    matched = np.asarray(parts.is_valid().to_numpy(zero_copy_only=False), dtype=bool)
    if not matched.any():
        return fallback, np.zeros(len(fallback), dtype=bool)
    sign = pc.struct_field(parts, [0])
    whole = pc.struct_field(parts, [1])
    fraction = pc.struct_field(parts, [2])
    exponent_text = pc.struct_field(parts, [3])

    whole_len = np.asarray(pc.utf8_length(whole).fill_null(0).to_numpy(zero_copy_only=False), dtype=np.int64)
    frac_len = np.asarray(
        pc.utf8_length(fraction).fill_null(0).to_numpy(zero_copy_only=False), dtype=np.int64
    )
    digits = pc.binary_join_element_wise(whole.fill_null(""), fraction.fill_null(""), "")
    leading = pc.utf8_slice_codeunits(digits.fill_null(""), 0, MAX_DIGITS)
    matrix = np.asarray(leading.to_numpy(zero_copy_only=False).astype(f"S{MAX_DIGITS}"))
    codes = matrix.view(np.uint8).reshape(len(matrix), MAX_DIGITS) if len(matrix) else np.zeros((0, 17))
    used = np.minimum(whole_len + frac_len, MAX_DIGITS)

    number = np.zeros(len(text), dtype=np.float64)
    for k in range(MAX_DIGITS):
        active = used > k
        if not active.any():
            break
        step = number * 10.0 + (codes[:, k].astype(np.float64) - 48.0)
        number = np.where(active, step, number)

    consumed_fraction = np.minimum(frac_len, np.maximum(MAX_DIGITS - whole_len, 0))
    exponent = np.maximum(whole_len - MAX_DIGITS, 0) - consumed_fraction
    # the exponent's own digits: the parser reads at most 17 of them (values beyond are absurd)
    exponent_text = exponent_text.fill_null("")
    exponent_text = pc.if_else(pc.equal(exponent_text, ""), "0", exponent_text)
    exp_values = pc.cast(pc.utf8_slice_codeunits(exponent_text, 0, MAX_DIGITS + 1), pa.float64())
    exponent = exponent + np.asarray(exp_values.to_numpy(zero_copy_only=False), dtype=np.float64).astype(
        np.int64
    )
    negative = np.asarray(pc.equal(sign.fill_null(""), "-").to_numpy(zero_copy_only=False), dtype=bool)
    number = np.where(negative, -number, number)

    powers = _powers_of_ten()
    in_range = (exponent >= -2 * MAX_EXPONENT) & (exponent <= MAX_EXPONENT)
    safe = np.clip(exponent, -2 * MAX_EXPONENT, MAX_EXPONENT)
    with np.errstate(over="ignore", under="ignore"):
        up = number * powers[np.clip(safe, 0, MAX_EXPONENT)]
        down = number / powers[np.clip(-safe, 0, MAX_EXPONENT)]
        tiny = number / powers[np.clip(-MAX_EXPONENT - safe, 0, MAX_EXPONENT)] / powers[MAX_EXPONENT]
    scaled = np.where(safe > 0, up, np.where(safe >= -MAX_EXPONENT, down, tiny))
    scaled = np.where(exponent < -2 * MAX_EXPONENT, number * 0.0, scaled)

    has_digits = (whole_len + frac_len) > 0
    use = matched & has_digits & (in_range | (exponent < -2 * MAX_EXPONENT))
    out_of_range = matched & has_digits & ((exponent > MAX_EXPONENT) | (use & np.isinf(scaled)))
    return np.where(use, scaled, fallback), out_of_range


__all__ = [
    "FALSE_VALUES",
    "NA_VALUES",
    "TRUE_VALUES",
    "overflows",
    "pandas_float_column",
    "pandas_float_values",
    "pandas_integer_values",
]
