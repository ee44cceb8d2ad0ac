"""The SHAP baseline: rows that model "feature absent" (docs/explainability.md, "Kernel SHAP").

Three sources, in this order:

1. a table already loaded by the runner (``baseline`` given as a URI in the config);
2. inline rows in ``methods.shap.baseline`` (features only, model-input order);
3. computed from the dataset by clustering, one baseline row per cluster:

   * all explained columns numeric -> scikit-learn ``KMeans`` on standardised columns (nulls
     replaced by the column mean); each baseline row is its cluster's centre in original units;
   * some categorical (string/boolean) columns -> ``kmodes.KPrototypes`` (Huang's k-prototypes:
     squared Euclidean distance on standardised numeric columns plus ``gamma`` x mismatches on the
     categorical ones); numeric centres as above, categorical centres are the cluster modes.
   * free-text columns are not clustered: their baseline value is the text replacement string.

   ``num_clusters`` sets the number of rows. Without it, numeric data uses the k in 2..12 with the best
   silhouette score (on at most :data:`SILHOUETTE_SAMPLE` rows); mixed data uses
   :data:`DEFAULT_MIXED_CLUSTERS`. Both are seeded with ``methods.shap.seed``.

   Clustering runs on a sample: :data:`CLUSTER_SAMPLE_ROWS` rows drawn uniformly without
   replacement with ``numpy.random.default_rng(methods.shap.seed)`` (every row when the dataset is
   smaller). A baseline row is a cluster centre, the mean (or mode) of its cluster; a cluster
   holding a share p of the data gets about ``CLUSTER_SAMPLE_ROWS * p`` sampled rows, so its centre's
   standard error is ``sigma / sqrt(CLUSTER_SAMPLE_ROWS * p)`` of the within-cluster spread: at most
   7 % of it for any cluster of at least a tenth of the data (200 rows). kmodes' k-prototypes loops
   over rows in Python (about 24 s for 100k rows on this project's 2-core machines, 40 % of a
   realistic SHAP job); on the sample it takes well under a second of CPU.
   ``benchmarks/bench_baseline.py`` prints the clustering cost of the sampled centres on *all* rows
   against clustering all rows: within 1 % for k-means and k-prototypes on 20k rows
   (docs/performance.md).
"""

from __future__ import annotations

import csv
import io
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np

from airflow_provider_clarify.engine.errors import EngineConfigError
from airflow_provider_clarify.engine.explain.model_calls import rows_to_matrix, table_to_matrix

if TYPE_CHECKING:
    import pyarrow as pa

BASELINE_RELPATH = "explanations_shap/baseline.csv"
MAX_AUTO_CLUSTERS = 12
SILHOUETTE_SAMPLE = 2000
DEFAULT_MIXED_CLUSTERS = 4
#: Rows clustered for a computed baseline (a seeded uniform sample; see the module docstring).
CLUSTER_SAMPLE_ROWS = 2_000


class BaselineError(EngineConfigError):
    """The baseline cannot be used (names the field, the value and the fix)."""


@dataclass
class Baseline:
    """Baseline rows as a model-input matrix ``(K, m)`` and whether they were computed here."""

    matrix: np.ndarray
    computed: bool


def resolve_baseline(
    features: pa.Table,
    records: np.ndarray,
    shap_config: dict,
    baseline_table: pa.Table | None,
    *,
    text_columns: Sequence[int] = (),
    text_replacement: str = "",
    seed: int | None = None,
    presampled: bool = False,
) -> Baseline:
    """The baseline matrix for ``features`` (see the module docstring for the order of sources).

    :param presampled: ``records`` are already the clustering sample (the rows of
        :func:`cluster_sample` in its order; the Spark backend fetches only those).
    """
    m = features.num_columns
    if baseline_table is not None:
        matrix = _conform(table_to_matrix(baseline_table), records, "baseline (loaded table)")
        return Baseline(matrix=matrix, computed=False)
    inline = shap_config.get("baseline")
    if isinstance(inline, str):
        raise BaselineError(
            f"methods.shap.baseline is a URI ({inline!r}) but no baseline table was passed to "
            "compute_explanations; the runner must load it (baseline=<pyarrow.Table>)."
        )
    if isinstance(inline, list) and inline:
        rows = [_row_values(row, i) for i, row in enumerate(inline)]
        bad = [i for i, row in enumerate(rows) if len(row) != m]
        if bad:
            raise BaselineError(
                f"methods.shap.baseline[{bad[0]}] has {len(rows[bad[0]])} values but the model takes {m} "
                f"features ({features.column_names}); give one value per feature column, label excluded."
            )
        try:
            matrix = rows_to_matrix(rows, records)
        except (TypeError, ValueError) as err:
            raise BaselineError(
                f"methods.shap.baseline has a non-numeric value ({err}) but every feature is numeric; "
                "use numbers for numeric features."
            ) from None
        return Baseline(matrix=matrix, computed=False)
    if isinstance(inline, dict):
        raise BaselineError(
            "methods.shap.baseline as an object is only used for time series / images; tabular and text "
            "explanations take a list of rows or a URI."
        )
    num_clusters = shap_config.get("num_clusters")
    if num_clusters is not None and (not isinstance(num_clusters, int) or num_clusters < 1):
        raise BaselineError(
            f"methods.shap.num_clusters is {num_clusters!r}; it must be a positive integer (the number of "
            "baseline rows to compute)."
        )
    matrix = cluster_baseline(
        features,
        records,
        num_clusters,
        text_columns=text_columns,
        replacement=text_replacement,
        seed=seed,
        presampled=presampled,
    )
    return Baseline(matrix=matrix, computed=True)


def _row_values(row: Any, index: int) -> list:
    if isinstance(row, dict) and "features" in row:
        row = row["features"]
    if not isinstance(row, (list, tuple)):
        raise BaselineError(
            f"methods.shap.baseline[{index}] is {row!r}; each baseline row is a list of feature values."
        )
    return list(row)


def _conform(matrix: np.ndarray, records: np.ndarray, what: str) -> np.ndarray:
    if matrix.shape[1] != records.shape[1]:
        raise BaselineError(
            f"The {what} has {matrix.shape[1]} columns but the model takes {records.shape[1]} features; "
            "a baseline holds the feature columns only (no label), in model-input order."
        )
    if records.dtype == object and matrix.dtype != object:
        return matrix.astype(object)
    if records.dtype != object and matrix.dtype == object:
        try:
            return matrix.astype(np.float64)
        except (TypeError, ValueError):
            raise BaselineError(
                f"The {what} has non-numeric values but every feature is numeric; fix the baseline file."
            ) from None
    return matrix


def cluster_baseline(
    features: pa.Table,
    records: np.ndarray,
    num_clusters: int | None,
    *,
    text_columns: Sequence[int] = (),
    replacement: str = "",
    seed: int | None = None,
    presampled: bool = False,
) -> np.ndarray:
    """Baseline rows from clustering (K-means for numeric data, K-prototypes for mixed data).

    :param presampled: ``records`` are the rows :func:`cluster_sample` picks, in its order (else the
        sample is drawn here from all of ``records``).
    """
    from airflow_provider_clarify.engine.explain.model_calls import is_numeric_type

    n, m = records.shape
    if n == 0:
        raise BaselineError(
            "Cannot compute a SHAP baseline from an empty dataset; provide methods.shap.baseline."
        )
    text = set(text_columns)
    numeric = [j for j in range(m) if j not in text and is_numeric_type(features.schema.field(j).type)]
    categorical = [j for j in range(m) if j not in text and j not in numeric]
    sampled = records if presampled else records[cluster_sample(n, seed)]
    numbers = _standardised(sampled[:, numeric]) if numeric else None
    distinct = len({tuple(map(repr, row)) for row in sampled[:, numeric + categorical]})
    if num_clusters is None:
        if categorical:
            num_clusters = DEFAULT_MIXED_CLUSTERS
        else:
            num_clusters = _best_k(numbers[0], seed) if numbers is not None else 1
    k = max(1, min(num_clusters, distinct))

    out = np.empty((k, m), dtype=records.dtype)
    for j in text:
        out[:, j] = replacement
    if not numeric and not categorical:
        return out[:1]
    if not categorical:
        labels, centres = _kmeans(numbers[0], k, seed)
    else:
        labels, centres = _kprototypes(numbers[0] if numbers else None, sampled[:, categorical], k, seed)
    k = len(centres["num"]) if numeric else len(centres["cat"])
    out = out[:k]
    if numeric:
        scaled_centres = centres["num"]
        out[:, numeric] = scaled_centres * numbers[2] + numbers[1]
    if categorical:
        out[:, categorical] = centres["cat"]
    del labels
    return out


def cluster_sample(n: int, seed: int | None) -> np.ndarray:
    """The row indices a computed baseline clusters: :data:`CLUSTER_SAMPLE_ROWS` of ``n`` rows drawn
    uniformly without replacement with ``numpy.random.default_rng(seed)`` (all rows when fewer)."""
    if n <= CLUSTER_SAMPLE_ROWS:
        return np.arange(n)
    return np.random.default_rng(seed).choice(n, size=CLUSTER_SAMPLE_ROWS, replace=False)


def _standardised(values: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    values = np.asarray(values, dtype=np.float64)
    mean = np.nanmean(values, axis=0) if len(values) else np.zeros(values.shape[1])
    mean = np.where(np.isnan(mean), 0.0, mean)
    filled = np.where(np.isnan(values), mean[None, :], values)
    scale = filled.std(axis=0)
    scale = np.where(scale > 0, scale, 1.0)
    return (filled - mean) / scale, mean, scale


def _kmeans(values: np.ndarray, k: int, seed: int | None) -> tuple[np.ndarray, dict]:
    from sklearn.cluster import KMeans

    model = KMeans(n_clusters=k, n_init=10, random_state=seed).fit(values)
    return model.labels_, {"num": model.cluster_centers_}


def _best_k(values: np.ndarray, seed: int | None) -> int:
    from sklearn.cluster import KMeans
    from sklearn.metrics import silhouette_score

    n = len(values)
    distinct = len(np.unique(values, axis=0))
    candidates = range(2, min(MAX_AUTO_CLUSTERS, distinct - 1, n - 1) + 1)
    if not candidates:
        return 1
    rng = np.random.default_rng(seed)
    sample = values[rng.choice(n, size=SILHOUETTE_SAMPLE, replace=False)] if n > SILHOUETTE_SAMPLE else values
    best, best_score = 1, -np.inf
    for k in candidates:
        labels = KMeans(n_clusters=k, n_init=3, random_state=seed).fit_predict(sample)
        if len(set(labels)) < 2:
            continue
        score = silhouette_score(sample, labels)
        if score > best_score:
            best, best_score = k, score
    return best


def _kprototypes(numbers: np.ndarray | None, categories: np.ndarray, k: int, seed: int | None) -> tuple:
    from kmodes.kmodes import KModes
    from kmodes.kprototypes import KPrototypes

    cats = np.array([["" if v is None else str(v) for v in row] for row in categories], dtype=object)
    if numbers is None:
        model = KModes(n_clusters=k, init="Cao", n_init=1, random_state=seed).fit(cats)
        return model.labels_, {"cat": _restore(model.cluster_centroids_, categories)}
    combined = np.concatenate([numbers.astype(object), cats], axis=1)
    cat_index = list(range(numbers.shape[1], combined.shape[1]))
    model = KPrototypes(n_clusters=k, init="Cao", n_init=1, random_state=seed).fit(
        combined, categorical=cat_index
    )
    centroids = np.asarray(model.cluster_centroids_, dtype=object)
    num = centroids[:, : numbers.shape[1]].astype(np.float64)
    return model.labels_, {"num": num, "cat": _restore(centroids[:, numbers.shape[1] :], categories)}


def _restore(centroids: np.ndarray, categories: np.ndarray) -> np.ndarray:
    """Map the string modes back to the original Python values of each categorical column."""
    out = np.empty(centroids.shape, dtype=object)
    for j in range(centroids.shape[1]):
        originals = {("" if v is None else str(v)): v for v in categories[:, j]}
        out[:, j] = [originals.get(str(v), v) for v in centroids[:, j]]
    return out


def baseline_csv(matrix: np.ndarray) -> str:
    """The baseline rows as CSV text without a header (features only)."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    for row in matrix.tolist():
        writer.writerow(["" if v is None else (repr(v) if isinstance(v, float) else v) for v in row])
    return buffer.getvalue()
