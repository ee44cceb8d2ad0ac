"""The computed SHAP baseline: its share of a SHAP job and its quality (prints figures; not a test).

Seeded synthetic data with ``--rows`` rows (default 100k): 8 numeric columns drawn around 4 centres
and, for the mixed case, 4 categorical columns tied to the same centres. A scikit-learn
``HistGradientBoostingClassifier`` (microseconds per row, like a production tree model) is the model.

1. **Share of the job**: ``compute_explanations`` explains every row (as the Clarify container
   does) with ``--num-samples`` coalitions, baseline computed from the data; the time spent in
   ``cluster_baseline`` is measured inside the run. Goal: at most 5 % of the job.
2. **Quality**: the engine clusters a seeded sample of ``CLUSTER_SAMPLE_ROWS`` rows
   (engine/explain/baseline.py). For that sample size and each of ``--samples``, the clustering cost
   of the sampled centres *on every row* (squared standardised distance to the nearest centre, plus
   k-prototypes' ``gamma = 0.5`` per categorical mismatch) is divided by the cost of clustering all
   rows (``--full-rows`` caps that reference run, which is slow for k-prototypes). 1.00 = as good.

Run: ``.venv/bin/python benchmarks/bench_baseline.py [--rows 1e5] [--full-rows 1e5] [--samples 2000 10000]
[--num-samples 64] [--skip-job]``
"""

from __future__ import annotations

import argparse
import os
import time

import numpy as np
import pyarrow as pa

from airflow_provider_clarify.engine.explain import baseline as baseline_module

GAMMA = 0.5  # kmodes' default on standardised numeric columns: 0.5 * mean standard deviation


def dataset(rows: int, mixed: bool, seed: int = 11) -> tuple[pa.Table, np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    centre = rng.integers(0, 4, rows)
    numbers = rng.normal(size=(rows, 8)) + centre[:, None] * np.array([2.0, -1.5, 1.0, 0.5, 0, 0, 1, -1])
    columns = {f"x{i}": numbers[:, i] for i in range(8)}
    label = (numbers[:, 0] - numbers[:, 1] + rng.normal(size=rows) > 2).astype(int)
    if mixed:
        letters = np.array(list("abcd"))
        for i in range(4):
            noisy = np.where(rng.random(rows) < 0.7, centre, rng.integers(0, 4, rows))
            columns[f"c{i}"] = letters[noisy].astype(object)
    return pa.table(columns), label, numbers


def records_of(table: pa.Table) -> np.ndarray:
    from airflow_provider_clarify.engine.explain.model_calls import table_to_matrix

    return table_to_matrix(table)


def clustering_cost(
    records: np.ndarray, centres: np.ndarray, numeric: list[int], categorical: list[int]
) -> float:
    """Sum over every row of its distance to the nearest centre (k-prototypes' cost)."""
    values = records[:, numeric].astype(np.float64)
    mean, scale = values.mean(axis=0), values.std(axis=0)
    scale = np.where(scale > 0, scale, 1.0)
    x = (values - mean) / scale
    c = (centres[:, numeric].astype(np.float64) - mean) / scale
    total = 0.0
    for start in range(0, len(x), 50_000):  # bounded memory
        block = x[start : start + 50_000]
        distance = ((block[:, None, :] - c[None, :, :]) ** 2).sum(axis=2)
        if categorical:
            cats = records[start : start + 50_000][:, categorical]
            distance = distance + GAMMA * (cats[:, None, :] != centres[None, :, categorical]).sum(axis=2)
        total += float(distance.min(axis=1).sum())
    return total


def baseline_with(
    table: pa.Table, records: np.ndarray, sample_rows: int, clusters: int | None
) -> tuple[float, np.ndarray]:
    saved = baseline_module.CLUSTER_SAMPLE_ROWS
    baseline_module.CLUSTER_SAMPLE_ROWS = sample_rows
    try:
        start = time.perf_counter()
        centres = baseline_module.cluster_baseline(table, records, clusters, seed=3)
        return time.perf_counter() - start, centres
    finally:
        baseline_module.CLUSTER_SAMPLE_ROWS = saved


def bench_quality(rows: int, full_rows: int, samples: list[int]) -> None:
    for mixed in (False, True):
        table, _, _ = dataset(min(rows, full_rows), mixed)
        records = records_of(table)
        n = len(records)
        numeric = list(range(8))
        categorical = list(range(8, table.num_columns))
        clusters = 4  # the same k on both sides (mixed data's default; numeric would pick its own)
        full_s, full_centres = baseline_with(table, records, n, clusters)
        reference = clustering_cost(records, full_centres, numeric, categorical)
        kind = "k-prototypes (mixed)" if mixed else "k-means (numeric)"
        print(f"[quality] {kind}: all {n:,} rows clustered in {full_s:.1f}s, cost {reference:.4g}")
        for sample in sorted({*samples, baseline_module.CLUSTER_SAMPLE_ROWS}):
            if sample >= n:
                continue
            seconds, centres = baseline_with(table, records, sample, clusters)
            ratio = clustering_cost(records, centres, numeric, categorical) / reference
            mark = "  <- the engine's sample" if sample == baseline_module.CLUSTER_SAMPLE_ROWS else ""
            print(
                f"          sample {sample:>7,}: {seconds:6.2f}s, cost / full-data cost = {ratio:.4f}{mark}"
            )


def bench_job(rows: int, num_samples: int) -> None:
    from sklearn.ensemble import HistGradientBoostingClassifier

    from airflow_provider_clarify.engine.explain import compute_explanations
    from airflow_provider_clarify.engine.predictors import CallablePredictor

    table, label, _ = dataset(rows, mixed=True)
    records = records_of(table)
    codes = np.column_stack(
        [records[:, :8].astype(np.float64)]
        + [np.unique(records[:, j].astype(str), return_inverse=True)[1] for j in range(8, records.shape[1])]
    )
    model = HistGradientBoostingClassifier(max_iter=100, random_state=0).fit(codes, label)

    def predict(matrix: np.ndarray) -> np.ndarray:
        numeric = matrix[:, :8].astype(np.float64)
        cats = np.column_stack(
            [np.searchsorted(np.array(list("abcd")), matrix[:, j].astype(str)) for j in range(8, 12)]
        )
        return model.predict_proba(np.column_stack([numeric, cats]))

    spent = {"baseline": 0.0}
    original = baseline_module.cluster_baseline

    def timed_baseline(*args, **kwargs):
        start = time.perf_counter()
        try:
            return original(*args, **kwargs)
        finally:
            spent["baseline"] += time.perf_counter() - start

    baseline_module.cluster_baseline = timed_baseline
    try:
        start = time.perf_counter()
        compute_explanations(table, {"shap": {"num_samples": num_samples, "seed": 1, "save_local_shap_values": False}},
                             CallablePredictor(predict))  # fmt: skip
        job = time.perf_counter() - start
    finally:
        baseline_module.cluster_baseline = original
    share = spent["baseline"] / job
    print(f"[job] SHAP on all {rows:,} rows (12 mixed features, HistGradientBoosting, {num_samples} coalitions): "
          f"{job:.1f}s, baseline {spent['baseline']:.2f}s = {100 * share:.1f}% of the job "
          f"(goal <= 5%: {'met' if share <= 0.05 else 'NOT met'})")  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--rows", type=float, default=100_000)
    parser.add_argument("--full-rows", type=float, default=100_000, help="cap of the full-data reference")
    parser.add_argument("--samples", type=int, nargs="*", default=[2_000, 10_000, 20_000])
    parser.add_argument("--num-samples", type=int, default=64, help="coalitions per record in the job")
    parser.add_argument("--skip-job", action="store_true")
    parser.add_argument("--skip-quality", action="store_true")
    args = parser.parse_args()
    print(f"load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} CPUs; "
          f"engine sample: {baseline_module.CLUSTER_SAMPLE_ROWS:,} rows")  # fmt: skip
    if not args.skip_job:
        bench_job(int(args.rows), args.num_samples)
    if not args.skip_quality:
        bench_quality(int(args.rows), int(args.full_rows), args.samples)


if __name__ == "__main__":
    main()
