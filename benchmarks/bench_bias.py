"""Speed and memory of the open engine's bias metrics (prints figures; not a test).

Four measurements on seeded synthetic credit data:

1. every pre- and post-training metric except FT on ``--rows`` rows (default 1M) held in memory;
   reference: smclarify 0.5 needs 7.2 s (pre) + 4.5 s (post) on 1M rows on these machines;
2. FT alone on ``--ft-rows`` rows (default 100k); reference: smclarify 2.7 s;
3. every metric except FT on a ``--parquet-rows`` row Parquet file (default 100M, generated once
   under ``benchmarks/.data/``) streamed with ``ParquetFile.iter_batches`` in a child process whose
   peak RSS (``resource.getrusage``) is reported; target < 2 GiB;
4. the same file through the whole engine (``run_analysis``: the Parquet reader, the analysis
   config, the metrics and the analysis.json writer), as a user runs it, in a child process.

Run: ``.venv/bin/python benchmarks/bench_bias.py [--rows N] [--ft-rows N] [--parquet-rows N | --skip-parquet]``
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

from airflow_provider_clarify.engine.bias import compute_bias_sections
from airflow_provider_clarify.engine.bias.registry import POST_TRAINING_METRICS

DATA_DIR = Path(__file__).resolve().parent / ".data"
SMCLARIFY_SECONDS = {"pre": 7.2, "post": 4.5, "ft": 2.7}
POST_WITHOUT_FT = [m.name for m in POST_TRAINING_METRICS if m.name != "FT"]
FEATURES = ["age", "credit_amount", "duration"]


def credit_table(rows: int, seed: int) -> pa.Table:
    """Synthetic credit data: bias injected through the facet ``sex`` into label and prediction."""
    rng = np.random.default_rng(seed)
    male = rng.random(rows) < 0.6
    age = rng.integers(18, 90, rows, dtype=np.int64)
    amount = rng.integers(250, 20_000, rows, dtype=np.int64)
    duration = rng.integers(4, 72, rows, dtype=np.int64)
    housing = rng.integers(0, 3, rows)
    logit = 0.35 * male - amount / 20_000 + rng.normal(0, 1, rows)
    approved = (logit > 0).astype(np.int64)
    predicted = (logit + 0.25 * male + rng.normal(0, 0.5, rows) > 0).astype(np.int64)
    return pa.table(
        {
            "sex": pa.DictionaryArray.from_arrays(pa.array(male.astype(np.int8)), ["female", "male"]).cast(
                pa.string()
            ),
            "age": age,
            "credit_amount": amount,
            "duration": duration,
            "housing": pa.DictionaryArray.from_arrays(
                pa.array(housing.astype(np.int8)), ["free", "own", "rent"]
            ).cast(pa.string()),
            "approved": approved,
            "predicted": predicted,
        }
    )


def bias_kwargs(**overrides) -> dict:
    kwargs = dict(
        label="approved",
        label_values=[1],
        facets=[{"name_or_index": "sex"}],
        group_variable="housing",
        predicted_label="predicted",
        feature_columns=FEATURES,
    )
    kwargs.update(overrides)
    return kwargs


def in_memory(table: pa.Table):
    def batches(columns):
        return table.select(list(columns)).to_batches()

    return batches


def timed(fn, repeat: int = 3) -> float:
    best = float("inf")
    for _ in range(repeat):
        start = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - start)
    return best


def bench_in_memory(rows: int) -> None:
    table = credit_table(rows, seed=1)
    batches = in_memory(table)
    n = table.num_rows
    pre = timed(
        lambda: compute_bias_sections(batches, pre_training_methods="all", num_rows=n, **bias_kwargs())
    )
    post = timed(
        lambda: compute_bias_sections(
            batches, post_training_methods=POST_WITHOUT_FT, num_rows=n, **bias_kwargs()
        )
    )
    both = timed(
        lambda: compute_bias_sections(
            batches,
            pre_training_methods="all",
            post_training_methods=POST_WITHOUT_FT,
            num_rows=n,
            **bias_kwargs(),
        )
    )
    reference = (SMCLARIFY_SECONDS["pre"] + SMCLARIFY_SECONDS["post"]) * rows / 1_000_000
    print(
        f"[in-memory] rows={rows:,}  pre={pre:.3f}s  post(no FT)={post:.3f}s  pre+post in one call={both:.3f}s"
    )
    print(
        f"            smclarify reference (scaled) {reference:.1f}s -> speed-up x{reference / both:.0f} (target x50)"
    )


def bench_flip_test(rows: int) -> None:
    table = credit_table(rows, seed=2)
    batches = in_memory(table)
    warm = in_memory(credit_table(100, seed=3))  # import scikit-learn outside the timing
    compute_bias_sections(warm, post_training_methods=["FT"], **bias_kwargs())
    seconds = timed(
        lambda: compute_bias_sections(batches, post_training_methods=["FT"], num_rows=rows, **bias_kwargs()),
        repeat=2,
    )
    reference = SMCLARIFY_SECONDS["ft"] * rows / 100_000
    print(f"[flip test] rows={rows:,}  FT={seconds:.3f}s  (smclarify reference scaled: {reference:.1f}s)")


def ensure_parquet(rows: int) -> Path:
    DATA_DIR.mkdir(parents=True, exist_ok=True)
    path = DATA_DIR / f"credit_{rows}.parquet"
    if path.exists() and pq.ParquetFile(path).metadata.num_rows == rows:
        return path
    tmp = path.with_suffix(".tmp")
    chunk = 5_000_000
    start = time.perf_counter()
    with pq.ParquetWriter(tmp, credit_table(1, seed=0).schema) as writer:
        for index, offset in enumerate(range(0, rows, chunk)):
            writer.write_table(
                credit_table(min(chunk, rows - offset), seed=100 + index), row_group_size=1_000_000
            )
    tmp.rename(path)
    print(
        f"[parquet]   generated {path} ({path.stat().st_size / 2**20:.0f} MiB) in {time.perf_counter() - start:.0f}s"
    )
    return path


def parquet_child(path: str) -> None:
    """Runs in a fresh process: stream the file, compute all metrics but FT, print JSON figures."""
    parquet = pq.ParquetFile(path)
    rows = parquet.metadata.num_rows

    def batches(columns):
        return pq.ParquetFile(path).iter_batches(batch_size=1_000_000, columns=list(columns))

    start = time.perf_counter()
    out = compute_bias_sections(
        batches,
        pre_training_methods="all",
        post_training_methods=POST_WITHOUT_FT,
        num_rows=rows,
        **bias_kwargs(),
    )
    seconds = time.perf_counter() - start
    peak_kib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    ci = out["pre_training_bias_metrics"]["facets"]["sex"][0]["metrics"][1]
    print(
        json.dumps(
            {"rows": rows, "seconds": seconds, "peak_rss_mib": peak_kib / 1024, "first_CI": ci["value"]}
        )
    )


def engine_child(path: str) -> None:
    """Runs in a fresh process: the whole engine (run_analysis) on the file, print JSON figures."""
    from airflow_provider_clarify.engine import run_analysis

    config = {
        "dataset_type": "application/x-parquet",
        "label": "approved",
        "predicted_label": "predicted",
        "label_values_or_threshold": [1],
        "facet": [{"name_or_index": "sex"}],
        "group_variable": "housing",
        "methods": {
            "pre_training_bias": {"methods": "all"},
            "post_training_bias": {"methods": POST_WITHOUT_FT},
        },
    }
    with tempfile.TemporaryDirectory() as output:
        start = time.perf_counter()
        written = run_analysis(config, path, output)
        seconds = time.perf_counter() - start
        analysis = json.loads(Path(written).read_text())
    peak_kib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    ci = analysis["pre_training_bias_metrics"]["facets"]["sex"][0]["metrics"][1]
    print(
        json.dumps(
            {"rows": pq.ParquetFile(path).metadata.num_rows, "seconds": seconds,
             "peak_rss_mib": peak_kib / 1024, "first_CI": ci["value"]}
        )
    )  # fmt: skip


def _child_figures(flag: str, path: Path) -> dict:
    result = subprocess.run(
        [sys.executable, __file__, flag, str(path)], check=True, capture_output=True, text=True
    )
    return json.loads(result.stdout.strip().splitlines()[-1])


def bench_parquet(rows: int) -> None:
    path = ensure_parquet(rows)
    figures = _child_figures("--child-parquet", path)
    print(
        f"[parquet]   rows={figures['rows']:,}  all metrics but FT={figures['seconds']:.1f}s  "
        f"peak RSS={figures['peak_rss_mib']:.0f} MiB (target < 2048 MiB)"
    )
    engine = _child_figures("--child-engine", path)
    same = engine["first_CI"] == figures["first_CI"]
    print(
        f"[engine]    rows={engine['rows']:,}  run_analysis end to end={engine['seconds']:.1f}s  "
        f"peak RSS={engine['peak_rss_mib']:.0f} MiB (target < 2048 MiB); same CI as the direct run: {same}"
    )


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--ft-rows", type=int, default=100_000)
    parser.add_argument("--parquet-rows", type=int, default=100_000_000)
    parser.add_argument("--skip-parquet", action="store_true")
    parser.add_argument("--child-parquet", help=argparse.SUPPRESS)
    parser.add_argument("--child-engine", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child_parquet:
        parquet_child(args.child_parquet)
        return
    if args.child_engine:
        engine_child(args.child_engine)
        return
    bench_in_memory(args.rows)
    bench_flip_test(args.ft_rows)
    if not args.skip_parquet:
        bench_parquet(args.parquet_rows)


if __name__ == "__main__":
    main()
