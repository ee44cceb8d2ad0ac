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


def test_registry_and_the_analysis_constants_name_the_same_metrics_in_the_same_order():
    """analysis/ validates metric names (schema, preflight, gates) with its constants; the engine
    computes what its registry holds. A metric added to one and not the other would be accepted and
    then never computed, or computed and then refused."""
    from airflow_provider_clarify.analysis import constants

    assert tuple(m.name for m in PRE_TRAINING_METRICS) == constants.PRE_TRAINING_METRICS
    assert tuple(m.name for m in POST_TRAINING_METRICS) == constants.POST_TRAINING_METRICS


def test_metric_descriptions_end_with_the_metric_name():
    for spec in (*PRE_TRAINING_METRICS, *POST_TRAINING_METRICS):
        assert spec.description.endswith(f"({spec.name})")
