"""The engine reproduces smclarify 0.5 on excerpts of real public datasets.

Each case of ``tests/data/parity/expected.json`` pairs a CSV excerpt and an analysis_config with
smclarify's own output (the oracle, produced by ``tests/data/parity/make_expected.py`` in a scratch
environment with smclarify 0.5 and pandas 2.3). The cases are the classes of discrepancy that a
differential campaign against smclarify found in the engine's reading of CSV data (the container
reads it with ``pandas.read_csv``): header rows with an empty first cell, byte-order marks, pandas'
missing-value tokens (``None``), 17-digit floats parsed like pandas, the wording of a group-variable
sort error, and which stage's failure is reported first.
"""

from __future__ import annotations

import json
import math

import pytest

from airflow_provider_clarify.engine.bias.errors import BiasAnalysisError
from airflow_provider_clarify.engine.runner import run_analysis
from tests.support.paths import TEST_DATA

PARITY = TEST_DATA / "parity"
DOCUMENT = json.loads((PARITY / "expected.json").read_text())
CASES = DOCUMENT["cases"]
#: KL, JS and LP depend on numpy's vectorised log / BLAS dot in the last bits (docs/parity.md, "Numeric agreement").
LOOSE = {"KL", "JS", "LP"}


def _same_value(name: str, expected, actual) -> bool:
    if isinstance(expected, str) or expected is None:
        return actual == expected
    if type(expected) is not type(actual):  # DCA/DCR's integer 0 versus 0.0
        return False
    if name in LOOSE:
        return math.isclose(actual, expected, rel_tol=0.0, abs_tol=1e-14)
    return math.isclose(actual, expected, rel_tol=1e-12, abs_tol=0.0)


@pytest.mark.parametrize("case", CASES, ids=[c["id"] for c in CASES])
def test_engine_matches_smclarify(case, tmp_path):
    expected = case["expected"]
    dataset = str(PARITY / case["dataset"])
    if "error" in expected:
        with pytest.raises(BiasAnalysisError) as failure:
            run_analysis(case["config"], dataset, str(tmp_path))
        assert expected["error"] in str(failure.value)
        assert not (tmp_path / "analysis.json").exists()
        return
    run_analysis(case["config"], dataset, str(tmp_path))
    actual = json.loads((tmp_path / "analysis.json").read_text())
    assert [k for k in actual if k != "version"] == [k for k in expected if k != "version"]
    for section in (k for k in expected if k != "version"):
        want, got = expected[section], actual[section]
        assert got["label"] == want["label"]
        assert got["label_value_or_threshold"] == want["label_value_or_threshold"]
        assert list(got["facets"]) == list(want["facets"])
        for facet, entries in want["facets"].items():
            got_entries = got["facets"][facet]
            assert [e["value_or_threshold"] for e in got_entries] == [
                e["value_or_threshold"] for e in entries
            ]
            for want_entry, got_entry in zip(entries, got_entries, strict=True):
                assert [m["name"] for m in got_entry["metrics"]] == [m["name"] for m in want_entry["metrics"]]
                for want_metric, got_metric in zip(want_entry["metrics"], got_entry["metrics"], strict=True):
                    where = f"{section} {facet}={want_entry['value_or_threshold']} {want_metric['name']}"
                    assert got_metric.get("error") == want_metric.get("error"), where
                    assert _same_value(want_metric["name"], want_metric["value"], got_metric["value"]), (
                        f"{where}: {got_metric['value']!r} != smclarify {want_metric['value']!r}"
                    )


def test_oracle_records_its_provenance():
    assert DOCUMENT["produced_by"].startswith("smclarify 0.5,")
    assert "make_expected.py" in DOCUMENT["command"]


# How single cells and header rows are read is checked against pandas.read_csv itself, on generated
# text, in test_pandas_csv.py.
