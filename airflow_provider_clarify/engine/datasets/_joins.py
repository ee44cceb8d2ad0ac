"""Resolving config names/indices to columns, and joining the facet / predicted-label datasets."""

from __future__ import annotations

from collections.abc import Sequence

from airflow_provider_clarify.engine.datasets._batches import TableData, TabularData
from airflow_provider_clarify.engine.datasets._errors import DatasetError

ROW_INDEX_COLUMN = "__clarify_row__"


def resolve_column(
    name_or_index: str | int, column_names: Sequence[str], field_name: str, *, where: str = "the dataset"
) -> str:
    """The column name that ``name_or_index`` (a name or 0-based index) designates.

    Raises :class:`DatasetError` naming the config field, the value and the available columns.
    """
    names = list(column_names)
    if isinstance(name_or_index, bool):
        raise DatasetError(
            f"analysis_config field {field_name!r}: {name_or_index!r} is neither a name nor an index."
        )
    if isinstance(name_or_index, int):
        if 0 <= name_or_index < len(names):
            return names[name_or_index]
        raise DatasetError(
            f"analysis_config field {field_name!r}: index {name_or_index} is out of range; {where} has "
            f"{len(names)} columns {names} (indices are 0-based)."
        )
    if isinstance(name_or_index, str) and name_or_index in names:
        return name_or_index
    raise DatasetError(
        f"analysis_config field {field_name!r}: column {name_or_index!r} is not in {where}; its columns are "
        f"{names}. Fix the name (or 'headers'), or give a 0-based index."
    )


def join_columns(
    main: TabularData,
    side: TabularData,
    columns: Sequence[str],
    *,
    join_main: str | None,
    join_side: str | None,
    what: str,
) -> TableData:
    """Add ``columns`` of ``side`` to ``main``: an inner join on the join columns (row order of
    ``main`` kept), or, without a join column, side by side (both must have the same row count).
    """
    import pyarrow as pa
    import pyarrow.compute as pc

    main_table = main.to_table()
    clashes = [c for c in columns if c in main_table.column_names and c != join_main]
    if clashes:
        raise DatasetError(
            f"Columns {clashes} of the {what} dataset also exist in the main dataset; rename them "
            f"(e.g. with the {what} headers)."
        )
    if join_main is None:
        side_table = side.to_table(list(columns))
        if side_table.num_rows != main_table.num_rows:
            raise DatasetError(
                f"The {what} dataset has {side_table.num_rows} rows but the main dataset has "
                f"{main_table.num_rows}; without 'joinsource_name_or_index' they must have equal row counts."
            )
        for name in columns:
            main_table = main_table.append_column(name, side_table.column(name))
        return _joined(TableData(main_table), main, side)
    assert join_side is not None
    side_table = side.to_table([join_side, *[c for c in columns if c != join_side]])
    if join_side != join_main:
        side_table = side_table.rename_columns([join_main, *side_table.column_names[1:]])
    if pc.count_distinct(side_table.column(join_main)).as_py() != side_table.num_rows:
        raise DatasetError(
            f"The join column {join_main!r} of the {what} dataset holds duplicate values; each record "
            "must appear once."
        )
    indexed = main_table.append_column(ROW_INDEX_COLUMN, pa.array(range(main_table.num_rows), pa.int64()))
    try:
        joined = indexed.join(side_table, keys=join_main, join_type="inner", use_threads=False)
    except pa.ArrowInvalid as exc:
        raise DatasetError(f"Cannot join the {what} dataset on {join_main!r}: {exc}") from exc
    joined = joined.sort_by(ROW_INDEX_COLUMN)
    if joined.num_rows != main_table.num_rows:
        raise DatasetError(
            f"Only {joined.num_rows} of {main_table.num_rows} records of the main dataset have a match in the "
            f"{what} dataset on {join_main!r}."
        )
    order = [*main_table.column_names, *[c for c in columns if c != join_main]]
    return _joined(TableData(joined.select(order)), main, side)


def _joined(result: TableData, main: TabularData, side: TabularData) -> TableData:
    """The joined data keeps the main dataset's name and both readers' warnings."""
    result.source = main.source
    result.warnings = [*main.warnings, *side.warnings]
    return result
