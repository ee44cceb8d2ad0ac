"""FT — counterfactual flip test (docs/bias-metrics.md, "FT").

A k-nearest-neighbour classifier is trained on group ``a``'s raw numeric features with ``a``'s
predicted labels as targets (Euclidean distance, uniform majority vote, ``k = 5`` when ``n_a > 9``
else ``k = 1``). Each row of ``d`` is then classified by its ``a``-neighbours::

    F⁺ = #{i ∈ d : ŷ_i = 1 and knn_i = 0}     (favourable for d, unfavourable among a-neighbours)
    F⁻ = #{i ∈ d : ŷ_i = 0 and knn_i = 1}
    FT = (F⁺ − F⁻) / n_d                       range [−1, 1]; 0 means no flips either way

The classifier is scikit-learn's ``KNeighborsClassifier`` with exactly smclarify's parameters
(``algorithm="auto"``, ``leaf_size=30``, Minkowski p = 2), so neighbours, ties and error messages
are the same as the container's for the same scikit-learn version.
"""

from __future__ import annotations

import numpy as np

from airflow_provider_clarify.engine.bias.arithmetic import sdiv
from airflow_provider_clarify.engine.bias.errors import MetricFailure

FT_DEFAULT_NEIGHBOR = 5
FT_MIN_NEIGHBOR = 1
FT_SAMPLES_COUNT_THRESHOLD = 9
NON_NUMERIC = "FlipTest does not support non-numeric columns"


def flip_test_value(
    features: np.ndarray, sensitive: np.ndarray, predictions: np.ndarray, *, non_numeric: bool = False
) -> float:
    """FT for one facet entry.

    :param features: (n, m) float64 numeric feature matrix, rows in dataset order.
    :param sensitive: (n,) bool, True for rows of d.
    :param predictions: (n,) bool predicted labels ŷ.
    :param non_numeric: the feature frame has non-numeric columns (smclarify's error, checked after
        the empty-group checks).
    """
    from sklearn.neighbors import KNeighborsClassifier

    n_d = int(np.count_nonzero(sensitive))
    n_a = len(sensitive) - n_d
    if n_d == 0:
        raise MetricFailure("Facet set is empty")
    if n_a == 0:
        raise MetricFailure("Negated Facet set is empty")
    if non_numeric:
        raise MetricFailure(NON_NUMERIC)
    k = FT_DEFAULT_NEIGHBOR if n_a > FT_SAMPLES_COUNT_THRESHOLD else FT_MIN_NEIGHBOR
    knn = KNeighborsClassifier(
        n_neighbors=k, weights="uniform", algorithm="auto", leaf_size=30, p=2, metric="minkowski"
    )
    try:
        knn.fit(features[~sensitive], predictions[~sensitive])
        counterfactual = np.asarray(knn.predict(features[sensitive]), dtype=bool)
    except ValueError as exc:  # e.g. NaN features or no feature column (scikit-learn's message)
        raise MetricFailure(str(exc)) from None
    own = predictions[sensitive]
    flips_pos = int(np.count_nonzero(own & ~counterfactual))
    flips_neg = int(np.count_nonzero(~own & counterfactual))
    return sdiv(flips_pos - flips_neg, n_d)
