"""What confidence intervals (and the intersectional scan) add to a bias audit (prints figures; not a test).

The issue's target: intervals for all metrics with 1,000 resamples on 1M rows add at most 20% to
the audit's time. Measured through ``run_analysis`` (Parquet reader, every pre- and post-training
metric except FT, the analysis.json writer) on seeded synthetic credit data from
``bench_bias.credit_table``, with facets ``sex`` (one versus the rest: 2 groups) and ``age > 60``
and the group variable ``housing`` (so CDDL/CDDPL get intervals too):

1. the audit as Clarify computes it;
2. the same audit with ``confidence_intervals={"resamples": 1000}`` (sidecar written too);
3. the same audit with the intersectional scan of sex x age bins x housing (``--scan``).

Each configuration runs ``--repeat`` times (default 3) alternately after one warm-up run; the
median is reported, and the interval computation alone is timed from the engine's log line (it does
not depend on the load of the machine as much as the whole audit does).

Run: ``.venv/bin/python benchmarks/bench_intervals.py [--rows N] [--resamples N] [--repeat N] [--scan]``
"""

from __future__ import annotations

import argparse
import logging
import re
import statistics
import sys
import tempfile
import time
from pathlib import Path

import pyarrow.parquet as pq

sys.path.insert(0, str(Path(__file__).resolve().parent))

from bench_bias import credit_table

from airflow_provider_clarify.engine.runner import run_analysis

POST_WITHOUT_FT = ["DPPL", "DI", "DCA", "DCR", "RD", "SD", "DAR", "DRR", "AD", "CDDPL", "TE", "GE"]


def config() -> dict:
    return {
        "dataset_type": "application/x-parquet",
        "label": "approved",
        "label_values_or_threshold": [1],
        "facet": [{"name_or_index": "sex"}, {"name_or_index": "age", "value_or_threshold": [60]}],
        "group_variable": "housing",
        "predicted_label": "predicted",
        "methods": {
            "pre_training_bias": {"methods": "all"},
            "post_training_bias": {"methods": POST_WITHOUT_FT},
        },
    }


class _IntervalTimes(logging.Handler):
    """Collects the seconds of the engine's "Confidence intervals (...) in X s" log lines."""

    def __init__(self) -> None:
        super().__init__()
        self.seconds: list[float] = []

    def emit(self, record: logging.LogRecord) -> None:
        found = re.search(r"in ([0-9.]+) s$", record.getMessage())
        if record.getMessage().startswith("Confidence intervals") and found:
            self.seconds.append(float(found.group(1)))


def timed(label: str, runs: dict[str, list[float]], fn) -> None:
    started = time.perf_counter()
    fn()
    runs.setdefault(label, []).append(time.perf_counter() - started)


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--resamples", type=int, default=1000)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--scan", action="store_true", help="also time the intersectional scan")
    args = parser.parse_args()

    interval_times = _IntervalTimes()
    engine_log = logging.getLogger("airflow_provider_clarify.engine.uncertainty")
    engine_log.addHandler(interval_times)
    engine_log.setLevel(logging.INFO)
    with tempfile.TemporaryDirectory() as tmp:
        data = Path(tmp) / "credit.parquet"
        pq.write_table(credit_table(args.rows, seed=42), data)
        intervals = {"resamples": args.resamples, "seed": 1}
        scan = {
            "scan_columns": ["sex", "age", "housing"],
            "bins": {"age": [30, 45, 60]},
            "min_group_size": 100,
        }
        plans = {
            "audit": lambda: run_analysis(config(), str(data), f"{tmp}/plain"),
            "audit + intervals": lambda: run_analysis(
                config(), str(data), f"{tmp}/ci", confidence_intervals=intervals
            ),
        }
        if args.scan:
            plans["audit + scan"] = lambda: run_analysis(
                config(), str(data), f"{tmp}/scan", intersections=scan
            )
        runs: dict[str, list[float]] = {}
        for fn in plans.values():  # warm the imports and the file cache
            fn()
        for _ in range(args.repeat):
            for label, fn in plans.items():
                timed(label, runs, fn)
        same = (Path(tmp) / "plain" / "analysis.json").read_bytes() == (
            Path(tmp) / "ci" / "analysis.json"
        ).read_bytes()

    base = statistics.median(runs["audit"])
    print(f"rows={args.rows:,} resamples={args.resamples} repeat={args.repeat} (median seconds)")
    for label, times in runs.items():
        median = statistics.median(times)
        extra = "" if label == "audit" else f"  ({(median - base) / base * 100:+.1f}%)"
        print(f"  {label:20} {median:7.3f} s{extra}   runs: {', '.join(f'{t:.3f}' for t in times)}")
    alone = statistics.median(interval_times.seconds)
    print(f"  intervals alone      {alone:7.3f} s  ({alone / base * 100:.1f}% of the audit)")
    print(f"  analysis.json identical with and without intervals: {same}")


if __name__ == "__main__":
    main()
