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

Memory: the classifier is fitted on a float64 copy of ``a``'s rows only (the features themselves
are kept narrow, :mod:`.feature_store`), and the rows of ``d`` are classified in blocks of
:data:`PREDICT_BLOCK_ROWS`, so neither ``d``'s float64 features nor its neighbour lists are ever
held whole. Each row's neighbours are found on their own (a tree query per row), so the blocks
change nothing; brute-force search (few ``a`` rows, or more than 15 features) classifies all of
``d`` in one call, as before.
"""

from __future__ import annotations

import numpy as np

from airflow_provider_clarify.engine.bias.arithmetic import sdiv
from airflow_provider_clarify.engine.bias.errors import MetricFailure
from airflow_provider_clarify.engine.bias.feature_store import FeatureColumns

FT_DEFAULT_NEIGHBOR = 5
FT_MIN_NEIGHBOR = 1
FT_SAMPLES_COUNT_THRESHOLD = 9
NON_NUMERIC = "FlipTest does not support non-numeric columns"
#: Rows of ``d`` classified per call (float64 features and neighbour lists of this many rows).
PREDICT_BLOCK_ROWS = 1 << 16


def flip_test_value(
    features: FeatureColumns | np.ndarray,
    sensitive: np.ndarray,
    predictions: np.ndarray,
    *,
    non_numeric: bool = False,
    columns: list[int] | None = None,
) -> float:
    """FT for one facet entry.

    :param features: numeric features, rows in dataset order: a :class:`.FeatureColumns` or an
        (n, m) float64 matrix.
    :param sensitive: (n,) bool, True for rows of d.
    :param predictions: (n,) bool predicted labels ŷ.
    :param non_numeric: the feature frame has non-numeric columns (smclarify's error, checked after
        the empty-group checks).
    :param columns: the feature columns to use (all when ``None``).
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
    store = features if isinstance(features, FeatureColumns) else FeatureColumns.from_matrix(features)
    others = ~sensitive
    flips_pos = flips_neg = 0
    try:
        knn.fit(store.matrix(others, columns), predictions[others])
        del others
        brute = getattr(knn, "_fit_method", "brute") == "brute"
        block = len(sensitive) if brute else PREDICT_BLOCK_ROWS
        for start in range(0, len(sensitive), block):
            rows = np.flatnonzero(sensitive[start : start + block]) + start
            if not len(rows):
                continue
            counterfactual = np.asarray(knn.predict(store.matrix(rows, columns)), dtype=bool)
            own = predictions[rows]
            flips_pos += int(np.count_nonzero(own & ~counterfactual))
            flips_neg += int(np.count_nonzero(~own & counterfactual))
    except ValueError as exc:  # e.g. NaN features or no feature column (scikit-learn's message)
        raise MetricFailure(str(exc)) from None
    return sdiv(flips_pos - flips_neg, n_d)
