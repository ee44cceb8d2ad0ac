"""Speed and memory of Model Monitor executions with the open engine (prints figures; not a test).

1. One window of ``--records`` captured requests (default 1M, CSV capture, one hour, labels joined by
   event id): a bias execution (pre- and post-training ``"all"``, as Model Monitor) in a child process;
   prints records/s (end to end: listing, parsing, join, Parquet merge, metrics, report) and the
   child's peak RSS.
2. A backfill of ``--backfill-hours`` hourly windows (default 720 = a month) of
   ``--records-per-hour`` requests each, one execution per hour in a row in one child process (as an
   Airflow backfill of the hourly DAG would run them, minus the scheduler), printing windows/s. Each
   hour's labels land in the next hour's folder, which the window (offsets ``-PT2H`` .. ``-PT1H``)
   reads, so all ``--backfill-hours`` windows have labels.

Run: ``.venv/bin/python benchmarks/bench_monitoring.py [--records N] [--backfill-hours H]
[--records-per-hour N] [--skip-backfill]``
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import numpy as np

from airflow_provider_clarify.analysis.monitoring import capture_format as cf

START = datetime(2024, 5, 1, tzinfo=UTC)
CONFIG = {
    "label_values_or_threshold": [1],
    "facet": [{"name_or_index": "gender", "value_or_threshold": [0]}],
    "group_variable": "region",
    "headers": ["gender", "age", "income", "region", "approved"],
    "label": "approved",
}


def write_hour(root: Path, hour: datetime, n: int, seed: int) -> None:
    """``n`` captured requests in ``hour`` (10 files) and their labels in the next hour's folder."""
    rng = np.random.default_rng(seed)
    gender = rng.integers(0, 2, n)
    age = rng.integers(18, 80, n)
    income = rng.normal(50, 12, n).round(1)
    region = rng.integers(0, 5, n)
    score = 1 / (1 + np.exp(-(income - 50 + 4 * gender) / 8))
    label = (rng.random(n) < score).astype(int)
    seconds = np.sort(rng.integers(0, 3600, n))
    capture_dir = root / "capture" / "ep" / "AllTraffic" / cf.hour_folder(hour)
    truth_dir = root / "gt" / cf.hour_folder(hour + timedelta(hours=1))
    capture_dir.mkdir(parents=True, exist_ok=True)
    truth_dir.mkdir(parents=True, exist_ok=True)
    parts = 10 if n >= 10 else 1
    bounds = np.linspace(0, n, parts + 1).astype(int)
    for part in range(parts):
        lines, truths = [], []
        for i in range(bounds[part], bounds[part + 1]):
            event_id = f"{seed}-{i}"
            when = hour + timedelta(seconds=int(seconds[i]))
            lines.append(
                cf.record_line(
                    cf.capture_record(
                        request=f"{gender[i]},{age[i]},{income[i]:g},{region[i]}",
                        request_content_type="text/csv",
                        response=f"{score[i]:.5f}",
                        response_content_type="text/csv",
                        inference_time=when,
                        event_id=event_id,
                    )
                )
            )
            truths.append(cf.record_line(cf.ground_truth_record(event_id, int(label[i]))))
        (capture_dir / f"part-{part}.jsonl").write_text("".join(lines))
        (truth_dir / f"part-{part}.jsonl").write_text("".join(truths))


def job_definition(root: Path) -> dict:
    (root / "config.json").write_text(json.dumps(CONFIG))
    return {
        "JobDefinitionName": "bench",
        "ModelBiasAppSpecification": {"ImageUri": "img", "ConfigUri": str(root / "config.json")},
        "ModelBiasJobInput": {
            "EndpointInput": {"EndpointName": "ep", "StartTimeOffset": "-PT2H", "EndTimeOffset": "-PT1H"},
            "GroundTruthS3Input": {"S3Uri": str(root / "gt")},
        },
        "ModelBiasJobOutputConfig": {"MonitoringOutputs": [{"S3Output": {"S3Uri": str(root / "out")}}]},
    }


CHILD = """
import json, resource, sys, time
from datetime import datetime, timedelta, timezone
from airflow_provider_clarify.engine.monitoring import run_monitoring_execution
root, hours, first = sys.argv[1], int(sys.argv[2]), datetime.fromisoformat(sys.argv[3])
definition = json.load(open(root + "/jobdef.json"))
imports = time.perf_counter()
import airflow_provider_clarify.engine.runner, pandas, scipy.stats, sklearn.neighbors  # the engine's imports, timed apart
imports = time.perf_counter() - imports
started = time.perf_counter(); records = 0; statuses = {}
for h in range(hours):
    scheduled = first + timedelta(hours=h + 2)
    result = run_monitoring_execution(definition, scheduled, data_capture_uri=root + "/capture",
                                      output=f"{root}/out/{h}")
    records += result.records; statuses[result.status] = statuses.get(result.status, 0) + 1
elapsed = time.perf_counter() - started
print(json.dumps({"seconds": elapsed, "records": records, "statuses": statuses, "import_seconds": imports,
                  "peak_rss_mib": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}))
"""


def run_child(root: Path, hours: int) -> dict:
    (root / "jobdef.json").write_text(json.dumps(job_definition(root)))
    done = subprocess.run(
        [sys.executable, "-c", CHILD, str(root), str(hours), START.isoformat()],
        capture_output=True,
        text=True,
        check=True,
    )
    return json.loads(done.stdout.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--records", type=int, default=1_000_000)
    parser.add_argument("--backfill-hours", type=int, default=720)
    parser.add_argument("--records-per-hour", type=int, default=500)
    parser.add_argument("--skip-backfill", action="store_true")
    parser.add_argument("--data-dir", default=None, help="keep (or reuse) the generated window here")
    args = parser.parse_args()

    print(f"load average before: {os.getloadavg()[0]:.1f}")
    with tempfile.TemporaryDirectory(prefix="bench-monitoring-") as tmp:
        root = Path(args.data_dir) if args.data_dir else Path(tmp) / "window"
        if not (root / "capture").exists():
            started = time.perf_counter()
            write_hour(root, START, args.records, seed=1)
            print(f"generated {args.records:,} captured records in {time.perf_counter() - started:.1f} s")
        figures = run_child(root, 1)
        print(
            f"one window of {figures['records']:,} records: {figures['seconds']:.1f} s, "
            f"{figures['records'] / figures['seconds']:,.0f} records/s, peak RSS {figures['peak_rss_mib']:.0f} MiB, "
            f"status {figures['statuses']} (engine imports before the window: {figures['import_seconds']:.1f} s; "
            f"load average after: {os.getloadavg()[0]:.1f})"
        )
        if args.skip_backfill:
            return
        root = Path(tmp) / "backfill"
        started = time.perf_counter()
        for h in range(args.backfill_hours):
            write_hour(root, START + timedelta(hours=h), args.records_per_hour, seed=100 + h)
        print(
            f"generated {args.backfill_hours} hours x {args.records_per_hour} records in {time.perf_counter() - started:.1f} s"
        )
        figures = run_child(root, args.backfill_hours)
        print(
            f"backfill of {args.backfill_hours} hourly windows ({figures['records']:,} records): "
            f"{figures['seconds']:.1f} s, {args.backfill_hours / figures['seconds']:.2f} windows/s, "
            f"peak RSS {figures['peak_rss_mib']:.0f} MiB, statuses {figures['statuses']}"
        )
    _ = resource  # peak RSS is measured in the child


if __name__ == "__main__":
    main()
