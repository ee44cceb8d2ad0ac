"""Global aggregation (golden values of the worked example, checked by hand)."""

from __future__ import annotations

import numpy as np
import pytest

from airflow_provider_clarify.engine.explain.aggregate import AggregationError, aggregate
from tests.unit.engine.explain.test_kernel_shap import REF_PHI

GOLDEN = {
    "mean_abs": [0.14676835658705276, 0.057843366915215716, 0.06570628086322261],
    "mean_sq": [0.035335877324139335, 0.006448227621513561, 0.005528741919425091],
    "median": [0.03690104547495662, -0.029428358902667873, 0.04126142663323963],
}


@pytest.mark.parametrize("method", sorted(GOLDEN))
def test_each_agg_method_matches_the_reference(method):
    np.testing.assert_allclose(aggregate(np.array(REF_PHI), method), GOLDEN[method], rtol=0, atol=1e-15)


def test_median_of_even_count_is_the_mean_of_the_middle_values():
    assert aggregate(np.array([[1.0], [-4.0], [3.0], [10.0]]), "median")[0] == 2.0


def test_unknown_method_names_the_field():
    with pytest.raises(AggregationError, match="agg_method.*'max'.*mean_abs, median, mean_sq"):
        aggregate(np.zeros((2, 2)), "max")
