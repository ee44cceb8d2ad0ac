from __future__ import annotations

import pytest

from airflow_provider_clarify.engine.bias.errors import BiasAnalysisError
from airflow_provider_clarify.engine.bias.registry import (
    POST_TRAINING_METRICS,
    PRE_TRAINING_METRICS,
    select_metrics,
)


def test_all_selects_every_metric_sorted_by_name():
    assert [m.name for m in select_metrics(PRE_TRAINING_METRICS, "all")] == [
        "CDDL", "CI", "DPL", "JS", "KL", "KS", "LP", "TVD",
    ]  # fmt: skip
    assert [m.name for m in select_metrics(POST_TRAINING_METRICS, ["all"])] == [
        "AD", "CDDPL", "DAR", "DCA", "DCR", "DI", "DPPL", "DRR", "FT", "GE", "RD", "SD", "TE",
    ]  # fmt: skip


def test_list_selection_collapses_duplicates_and_sorts():
    assert [m.name for m in select_metrics(POST_TRAINING_METRICS, ["TE", "DI", "TE"])] == ["DI", "TE"]


def test_none_skips_the_stage():
    assert select_metrics(PRE_TRAINING_METRICS, None) is None


def test_unknown_metric_name_fails_with_smclarify_message():
    with pytest.raises(BiasAnalysisError) as err:
        select_metrics(PRE_TRAINING_METRICS, ["CI", "DPPL"])
    assert str(err.value) == (
        "Invalid metric_name: metrics should be one of the registered metrics"
        "['CI', 'DPL', 'KL', 'JS', 'LP', 'TVD', 'KS', 'CDDL']"
    )
