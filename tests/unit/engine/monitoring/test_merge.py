"""The streaming merge: pandas-like column typing, fixed by the first batch; misfits are counted."""

from __future__ import annotations

import pyarrow as pa
import pyarrow.parquet as pq

from airflow_provider_clarify.engine.monitoring.capture import ReadStats
from airflow_provider_clarify.engine.monitoring.merge import MergedWriter


def test_types_come_from_the_first_batch_and_misfits_are_reported(tmp_path):
    stats = ReadStats()
    writer = MergedWriter(str(tmp_path / "m.parquet"), ["label", "score", "city"], stats, batch_rows=2)
    writer.add(["1", "0.5", "Oslo"], "e1")
    writer.add([0, 1, "Rome"], "e2")  # first batch: label whole numbers, score numbers, city text
    writer.add(["1", "0.25", "Bonn"], "e3")
    writer.add(["0.5", "0.1", "Nice"], "e4")  # label 0.5 does not fit int64: dropped and reported
    writer.add(["1", "n/a", "Pisa"], "e5")  # score text does not fit float64
    writer.add(["1", "2"], "e6")  # wrong width
    assert writer.close() == 3
    table = pq.read_table(tmp_path / "m.parquet")
    assert table.schema.types == [pa.int64(), pa.float64(), pa.string()]
    assert table.column("city").to_pylist() == ["Oslo", "Rome", "Bonn"]
    assert table.column("label").to_pylist() == [1, 0, 1]
    assert stats.malformed == 3
    assert any("'0.5' is not a whole number" in r for r in stats.reasons)
    assert any("'n/a' is not a number" in r for r in stats.reasons)
