"""Bias metrics: single-machine engine vs Spark local[2] vs a two-worker standalone cluster.

    python benchmarks/bench_spark.py                 # 200k rows (seconds)
    python benchmarks/bench_spark.py --rows 10000000 # the issue's sizes: 10M, 100M
    python benchmarks/bench_spark.py --master spark://host:7077 --cores 8

Prints rows/s, rows/s per core and the Spark overhead (time of a 200-row dataset through the same
path), and checks that every backend wrote the same analysis.json. The standalone cluster
(master + 2 one-core workers on 127.0.0.1) is started and stopped by the benchmark unless
``--master`` names one. SHAP is not benchmarked: the Spark backend computes bias metrics only.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

CONFIG = {
    "dataset_type": "text/csv",
    "label": "approved",
    "label_values_or_threshold": [1],
    "facet": [{"name_or_index": "sex", "value_or_threshold": ["female"]}],
    "group_variable": "housing",
    "predicted_label": "predicted",
    "methods": {
        "pre_training_bias": {"methods": "all"},
        "post_training_bias": {"methods": ["DPPL", "DI", "AD", "RD", "GE", "CDDPL"]},
    },
}


def write_dataset(path: Path, rows: int, seed: int = 7) -> None:
    import numpy as np

    rng = np.random.default_rng(seed)
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w") as f:
        f.write("sex,age,housing,credit_amount,approved,predicted\n")
        chunk = 1_000_000
        for start in range(0, rows, chunk):
            n = min(chunk, rows - start)
            sex = np.where(rng.random(n) < 0.3, "female", "male")
            housing = rng.choice(np.array(["own", "rent", "free"]), n)
            age = rng.integers(18, 80, n)
            amount = rng.integers(250, 20000, n)
            approved = (rng.random(n) < 0.6).astype(int)
            predicted = (rng.random(n) < 0.55).astype(int)
            lines = [
                f"{a},{b},{c},{d},{e},{g}\n"
                for a, b, c, d, e, g in zip(sex, age, housing, amount, approved, predicted, strict=True)
            ]
            f.writelines(lines)


#: docs/scale-out.md: every value equal, except GE within this relative tolerance.
GE_TOLERANCE = 1e-12


def same_result(a: str, b: str) -> bool:
    import math

    def walk(x, y, name=None) -> bool:
        if isinstance(x, dict) and isinstance(y, dict):
            return x.keys() == y.keys() and all(walk(x[k], y[k], x.get("name", name)) for k in x)
        if isinstance(x, list) and isinstance(y, list):
            return len(x) == len(y) and all(walk(i, j, name) for i, j in zip(x, y, strict=True))
        if name == "GE" and isinstance(x, float) and isinstance(y, float):
            return math.isclose(x, y, rel_tol=GE_TOLERANCE, abs_tol=0.0)
        return x == y

    return walk(json.loads(a), json.loads(b))


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start_cluster(workdir: Path) -> tuple[str, list[subprocess.Popen]]:
    import pyspark

    home = Path(pyspark.__file__).parent
    env = dict(os.environ, SPARK_HOME=str(home), SPARK_DAEMON_MEMORY="256m", SPARK_LOCAL_IP="127.0.0.1")
    spark_class = str(home / "bin" / "spark-class")
    port, ui = free_port(), free_port()
    master_url = f"spark://127.0.0.1:{port}"

    def start(args, log):
        return subprocess.Popen(
            [spark_class, *args],
            env=env,
            stdout=(workdir / log).open("wb"),
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )

    processes = [
        start(
            [
                "org.apache.spark.deploy.master.Master",
                "--host",
                "127.0.0.1",
                "--port",
                str(port),
                "--webui-port",
                str(ui),
            ],
            "master.log",
        )
    ]
    for i in range(2):
        processes.append(
            start(
                [
                    "org.apache.spark.deploy.worker.Worker",
                    master_url,
                    "--host",
                    "127.0.0.1",
                    "--cores",
                    "1",
                    "--memory",
                    "2g",
                    "--webui-port",
                    str(free_port()),
                    "--work-dir",
                    str(workdir / f"w{i}"),
                ],
                f"worker{i}.log",
            )
        )
    for _ in range(1200):
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{ui}/json/", timeout=5) as r:
                if sum(w["state"] == "ALIVE" for w in json.loads(r.read())["workers"]) == 2:
                    return master_url, processes
        except OSError:
            pass
        time.sleep(0.2)
    stop_cluster(processes)
    raise SystemExit(f"the standalone cluster did not start; logs in {workdir}")


def stop_cluster(processes: list[subprocess.Popen]) -> None:
    for p in processes:
        if p.poll() is None:
            os.killpg(p.pid, signal.SIGTERM)
    for p in processes:
        p.wait(timeout=60)


def timed(fn) -> float:
    start = time.perf_counter()
    fn()
    return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--rows", type=int, default=200_000)
    parser.add_argument(
        "--master", default=None, help="an existing cluster instead of the local standalone one"
    )
    parser.add_argument("--cores", type=int, default=2, help="cores of --master")
    parser.add_argument("--skip-standalone", action="store_true")
    args = parser.parse_args()

    from airflow_provider_clarify.engine.runner import run_analysis
    from airflow_provider_clarify.engine.spark.runner import run_analysis_spark
    from airflow_provider_clarify.engine.spark.session import build_session

    work = Path(tempfile.mkdtemp(prefix="bench-spark-"))
    data, tiny = work / "data.csv", work / "tiny.csv"
    write_dataset(data, args.rows)
    write_dataset(tiny, 200)  # 2 label values in 200 rows: categorical, as in the data
    print(f"dataset: {args.rows:,} rows, {data.stat().st_size / 1e6:.1f} MB of CSV")
    results: dict[str, str] = {}

    single = timed(lambda: run_analysis(CONFIG, str(data), str(work / "single")))
    results["single machine"] = (work / "single" / "analysis.json").read_text()
    print(f"single machine (1 core):  {single:8.2f} s  {args.rows / single:12,.0f} rows/s/core")

    def spark_run(name: str, master: str, cores: int) -> None:
        spark = build_session(master, app_name=f"bench-{name}", conf={"spark.executor.memory": "1g"})
        spark.sparkContext.setLogLevel("ERROR")
        try:
            overhead = timed(lambda: run_analysis_spark(spark, CONFIG, str(tiny), str(work / f"{name}-tiny")))
            seconds = timed(lambda: run_analysis_spark(spark, CONFIG, str(data), str(work / name)))
        finally:
            spark.stop()
        results[name] = (work / name / "analysis.json").read_text()
        print(
            f"{name + f' ({cores} cores):':<25} {seconds:8.2f} s  {args.rows / seconds / cores:12,.0f} rows/s/core"
            f"  (Spark overhead: {overhead:.2f} s for a 200-row dataset)"
        )

    spark_run("local[2]", "local[2]", 2)
    if args.master:
        spark_run("cluster", args.master, args.cores)
    elif not args.skip_standalone:
        master_url, processes = start_cluster(work)
        try:
            spark_run("standalone 2 workers", master_url, 2)
        finally:
            stop_cluster(processes)
    reference = results["single machine"]
    identical = all(r == reference for r in results.values())
    same = all(same_result(reference, r) for r in results.values())
    print(
        f"analysis.json byte-identical on every backend: {identical}; equal within the stated tolerance: {same}"
    )
    shutil.rmtree(work, ignore_errors=True)
    if not same:
        raise SystemExit(1)


if __name__ == "__main__":
    main()
