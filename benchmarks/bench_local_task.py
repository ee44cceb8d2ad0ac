"""Overhead of a ``compute="local"`` task: task wall time minus engine time (prints figures; not a test).

A small audit (``--rows``, default 1,000 rows of seeded synthetic credit data as CSV with a float
score column; every pre-training metric and every post-training metric but FT) runs ``--repeat``
times through :func:`~airflow_provider_clarify.operators.local_compute.run_local_analysis`, the
function the operators call: a child interpreter starts, imports the engine, runs it and exits.
The engine time is ``run_analysis`` on the same files in this process, warmed up (the median of
``--repeat`` runs); the overhead is the task's wall time minus that. The child's CPU time
(``RUSAGE_CHILDREN``) is printed too, since on a loaded machine wall time mostly measures the load.
Goal: overhead under 2 s.

``--ft`` adds the flip test (which needs scikit-learn's k-NN) to show what a method that needs a
heavy library costs on top.

Run: ``.venv/bin/python benchmarks/bench_local_task.py [--rows 1000] [--repeat 5] [--ft]``
"""

from __future__ import annotations

import argparse
import os
import resource
import statistics
import sys
import tempfile
import time
from pathlib import Path

import pyarrow.csv as pv

sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench_bias import POST_WITHOUT_FT, credit_table

GOAL_SECONDS = 2.0


def audit_config(ft: bool) -> dict:
    return {
        "dataset_type": "text/csv",
        "headers": ["sex", "age", "credit_amount", "duration", "housing", "approved", "predicted", "score"],
        "label": "approved",
        "predicted_label": "predicted",
        "label_values_or_threshold": [1],
        "facet": [{"name_or_index": "sex"}],
        "group_variable": "housing",
        "methods": {
            "pre_training_bias": {"methods": "all"},
            "post_training_bias": {"methods": [*POST_WITHOUT_FT, *(["FT"] if ft else [])]},
        },
    }


def write_dataset(rows: int, folder: str) -> str:
    import numpy as np
    import pyarrow as pa

    table = credit_table(rows, seed=7)
    score = np.random.default_rng(7).random(rows)  # full-precision floats, as model scores are
    table = table.append_column("score", pa.array(score))
    path = os.path.join(folder, "credit.csv")
    pv.write_csv(table, path)
    return path


def children_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--rows", type=float, default=1_000)
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--ft", action="store_true", help="add the flip test (scikit-learn's k-NN)")
    args = parser.parse_args()
    rows = int(args.rows)

    from airflow_provider_clarify.engine import run_analysis
    from airflow_provider_clarify.operators.local_compute import run_local_analysis

    config = audit_config(args.ft)
    with tempfile.TemporaryDirectory(prefix="bench-local-") as folder:
        dataset = write_dataset(rows, folder)
        run_analysis(config, dataset, os.path.join(folder, "warm"))  # imports outside the timing
        engine, task, cpu, child_engine = [], [], [], []
        for index in range(args.repeat):  # alternate: task, then engine in process, same load
            before_cpu = children_cpu()
            start = time.perf_counter()
            outcome = run_local_analysis(
                config, dataset, os.path.join(folder, f"task{index}"), aws_conn_id=None
            )
            task.append(time.perf_counter() - start)
            cpu.append(children_cpu() - before_cpu)
            child_engine.append(getattr(outcome, "engine_seconds", 0.0))
            start = time.perf_counter()
            run_analysis(config, dataset, os.path.join(folder, f"engine{index}"))
            engine.append(time.perf_counter() - start)
        modules = sorted(
            set(getattr(outcome, "imported_modules", ())) & {"pandas", "sklearn", "scipy", "kmodes", "joblib"}
        )
    median = statistics.median
    overhead = median(task) - median(engine)
    print(
        f"[local task] rows={rows:,} methods=pre all + post {'all' if args.ft else 'all but FT'}, "
        f"repeat={args.repeat}, load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} CPUs"
    )
    print(f"  task wall (run_local_analysis) median {median(task):.2f}s  min {min(task):.2f}s")
    print(f"  engine in process (run_analysis, warm) median {median(engine):.3f}s")
    if any(child_engine):
        print(f"  engine inside the child median {median(child_engine):.3f}s")
    print(f"  child CPU (user+sys) median {median(cpu):.2f}s")
    print(
        f"  overhead = task - engine: {overhead:.2f}s (goal < {GOAL_SECONDS:.0f}s: "
        f"{'met' if overhead < GOAL_SECONDS else 'NOT met'}); "
        f"CPU overhead {median(cpu) - median(engine):.2f}s"
    )
    print(f"  optional libraries the child imported: {', '.join(modules) or 'none'}")  # fmt: skip


if __name__ == "__main__":
    main()
