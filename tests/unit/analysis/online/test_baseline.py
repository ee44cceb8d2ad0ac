"""In-line baseline helpers: CSV / JSON Lines text that the explainer (and pandas) read back, k-means summaries."""

from __future__ import annotations

import io
import json

import numpy as np
import pandas as pd
import pytest

from airflow_provider_clarify.analysis.errors import ClarifyConfigError
from airflow_provider_clarify.analysis.online import (
    ClarifyShapBaselineConfig,
    inline_baseline,
    inline_baseline_from_file,
    parse_baseline,
    read_baseline_rows,
    summarize_baseline,
)

ROWS = [[35, 50000.5, 'say "hi", then leave', None], [41, np.float64(1e-7), "plain", "x\ny"]]


def test_csv_quotes_commas_quotes_and_line_breaks_like_pandas_reads_them():
    text = inline_baseline(ROWS)
    frame = pd.read_csv(io.StringIO(text), header=None, keep_default_na=False)
    assert frame.iloc[0, 2] == 'say "hi", then leave'
    assert frame.iloc[1, 3] == "x\ny"
    assert frame.iloc[1, 1] == 1e-7
    assert parse_baseline(text) == [[35, 50000.5, 'say "hi", then leave', ""], [41, 1e-7, "plain", "x\ny"]]


def test_jsonlines_fills_the_content_template_and_reads_back_with_the_features_attribute(tmp_path):
    text = inline_baseline(ROWS, "application/jsonlines", content_template='{"data":{"f":$features}}')
    records = [json.loads(line) for line in text.splitlines()]
    assert records[0] == {"data": {"f": [35, 50000.5, 'say "hi", then leave', None]}}
    path = tmp_path / "baseline.jsonl"
    path.write_text(text)
    assert read_baseline_rows(path, "application/jsonlines", features_attribute="data.f")[1][1] == 1e-7
    assert inline_baseline([[1, 2]], "application/jsonlines") == "[1,2]"


def test_helpers_reject_bad_input():
    with pytest.raises(ClarifyConfigError, match="mime_type"):
        inline_baseline([[1]], "application/json")
    with pytest.raises(ClarifyConfigError, match="at least one"):
        inline_baseline([])
    with pytest.raises(ClarifyConfigError, match="features_attribute"):
        parse_baseline('{"a": 1}', "application/jsonlines")
    with pytest.raises(ClarifyConfigError, match="Line 1 is not JSON"):
        parse_baseline("1,2", "application/jsonlines")


def test_summary_is_the_engine_kmeans_and_fits_the_inline_limit():
    from airflow_provider_clarify.engine.explain.baseline import cluster_baseline

    rng = np.random.default_rng(3)
    data = rng.normal(size=(400, 30)) * 1000
    text = summarize_baseline(data.tolist(), seed=7, decimals=None)
    assert len(text) <= 4096
    ClarifyShapBaselineConfig(shap_baseline=text).validate()
    rows = parse_baseline(text)
    import pyarrow as pa

    table = pa.table({f"c{j}": data[:, j] for j in range(30)})
    expected = cluster_baseline(table, data, len(rows), seed=7)
    np.testing.assert_allclose(np.array(rows, dtype=float), expected, rtol=1e-15)
    # a 12-row summary of 30 wide columns would not fit: fewer rows were chosen
    assert 1 <= len(rows) < 12


def test_summary_keeps_all_rows_when_they_fit_and_rejects_when_nothing_fits():
    small = summarize_baseline([[1, 2], [1, 2], [5, 6], [5, 6]], max_rows=2)
    assert sorted(parse_baseline(small)) == [[1, 2], [5, 6]]
    with pytest.raises(ClarifyConfigError, match="shap_baseline_uri"):
        summarize_baseline([[1.5] * 2000], max_chars=4096)


def test_a_baseline_file_becomes_inline_text_or_a_clear_size_error(tmp_path):
    path = tmp_path / "baseline.csv"
    path.write_text('35,"a, b",1.5\n40,c,2\n')
    text = inline_baseline_from_file(path)
    assert parse_baseline(text) == [[35, "a, b", 1.5], [40, "c", 2]]
    jsonl = tmp_path / "baseline.jsonl"
    jsonl.write_text('{"f": [1, 2]}\n')
    assert inline_baseline_from_file(jsonl, "application/jsonlines", features_attribute="f",
                                     content_template='{"f":$features}') == '{"f":[1,2]}'  # fmt: skip
    path.write_text("123456789,123456789\n" * 300)
    with pytest.raises(ClarifyConfigError, match="5,999 characters.*shap_baseline_uri"):
        inline_baseline_from_file(path)
