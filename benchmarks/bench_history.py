"""How fast the history API answers for a DAG with 1,000 audited runs (goal: under 200 ms).

Sets up a throw-away Airflow home (SQLite), registers a small DAG, writes 1,000 synthetic audited
runs (a bias-analysis record and a gate record per run, as the operators write them), starts a real
``airflow api-server`` with the plugin and measures ``GET /clarify/api/dags/<dag>/history?limit=1000``
over HTTP with a logged-in user, plus the same query in-process (no HTTP, no auth). Prints figures;
asserts nothing. Over HTTP it measures both a first view after the history changed (the
page is computed) and a repeated view (the computed page is reused until a record or a run changes).
Run: ``python benchmarks/bench_history.py [--runs 1000] [--requests 20]``.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO_ROOT))


def _isolated_airflow_home() -> Path:
    home = Path(tempfile.mkdtemp(prefix="bench-history-"))
    os.environ.update(
        {
            "AIRFLOW_HOME": str(home),
            "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
            "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN": f"sqlite:///{home}/airflow.db",
            "AIRFLOW__CORE__DAGS_FOLDER": str(home / "dags"),
        }
    )
    return home


def dag_history_once(runs: int) -> dict:
    """One in-process history query in a session of its own (what a request does, minus HTTP and auth)."""
    from airflow.utils.session import create_session

    from airflow_provider_clarify.history.query import dag_history

    with create_session() as session:
        return dag_history(session, "history_many", limit=runs)


def _profile(call, repeat: int = 5) -> None:
    import cProfile
    import pstats

    call()  # warm: imports and the first connection outside the profile
    profiler = cProfile.Profile()
    profiler.enable()
    for _ in range(repeat):
        call()
    profiler.disable()
    print(f"cProfile of {repeat} in-process history queries (cumulative time):")
    pstats.Stats(profiler).sort_stats("cumulative").print_stats(30)


class _ServerCpu:
    """CPU seconds (user + system) the API server's processes have used so far: a per-request cost
    that, unlike wall time, does not grow when other work shares the machine's cores."""

    def __init__(self, pid: int) -> None:
        import psutil

        self.root = psutil.Process(pid)

    def __call__(self) -> float:
        import psutil

        total = 0.0
        for process in [self.root, *self.root.children(recursive=True)]:
            try:
                times = process.cpu_times()
            except psutil.NoSuchProcess:
                continue
            total += times.user + times.system
        return total


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=1000)
    parser.add_argument("--requests", type=int, default=20)
    parser.add_argument(
        "--profile", action="store_true", help="print a cProfile of the in-process query, then stop"
    )
    parser.add_argument("--keep-home", action="store_true", help="keep the throw-away Airflow home")
    args = parser.parse_args()
    home = _isolated_airflow_home()
    try:
        _run(args, home)
    finally:
        if not args.keep_home:
            shutil.rmtree(home, ignore_errors=True)


def _run(args: argparse.Namespace, home: Path) -> None:

    import pendulum
    import pytest
    from airflow.utils import db

    from tests.support.api_server import start_api_server, stop_api_server
    from tests.support.dag_runs import bundled_dag
    from tests.support.history_runs import add_synthetic_runs
    from tests.support.paths import TEST_DATA

    print(f"Airflow home {home} (SQLite); writing {args.runs} audited runs ...")
    db.resetdb()
    folder = home / "dags-bundle"
    folder.mkdir()
    (folder / "clarify_history_dags.py").write_text(
        (TEST_DATA / "history" / "clarify_history_dags.py").read_text()
    )
    patch = pytest.MonkeyPatch()
    dag = bundled_dag(patch, folder, "history_many", bundle_name="bench")
    dag.test(logical_date=pendulum.datetime(2019, 1, 1, tz="UTC"))
    add_synthetic_runs("history_many", args.runs, start=pendulum.datetime(2021, 1, 1, tz="UTC"))

    if args.profile:
        _profile(lambda: dag_history_once(args.runs))
        patch.undo()
        return

    in_process, in_process_cpu = [], []
    for _ in range(args.requests):
        start, start_cpu = time.perf_counter(), time.process_time()
        body = dag_history_once(args.runs)
        in_process.append(time.perf_counter() - start)
        in_process_cpu.append(time.process_time() - start_cpu)
    assert len(body["runs"]) == args.runs

    passwords = home / "passwords.json"
    passwords.write_text(json.dumps({"bench": "bench-pw"}))
    plugins = home / "plugins"
    plugins.mkdir()
    (plugins / "clarify_history_plugin.py").write_text(
        "from airflow_provider_clarify.plugins.history import ClarifyHistoryPlugin  # noqa: F401\n"
    )
    env = {
        "AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_USERS": "bench:viewer",
        "AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_PASSWORDS_FILE": str(passwords),
        "AIRFLOW__CORE__PLUGINS_FOLDER": str(plugins),
        "AIRFLOW__API_AUTH__JWT_SECRET": "bench-secret",
    }
    server = start_api_server(home, env)
    try:
        token = server.token("bench", "bench-pw")
        path = f"/clarify/api/dags/history_many/history?limit={args.runs}"
        status, raw = server.request(path, token=token)  # warm-up (builds the app on first use)
        assert status == 200, raw[:500]
        cpu = _ServerCpu(server.process.pid)
        over_http, over_http_cpu = [], []
        for _ in range(args.requests):
            start, start_cpu = time.perf_counter(), cpu()
            status, raw = server.request(path, token=token)
            over_http.append(time.perf_counter() - start)
            over_http_cpu.append(cpu() - start_cpu)
            assert status == 200
        # A first view after the history changed: nothing reusable (each limit is a page of its own).
        cold, cold_cpu = [], []
        for i in range(args.requests):
            start, start_cpu = time.perf_counter(), cpu()
            status, _ = server.request(
                f"/clarify/api/dags/history_many/history?limit={args.runs - 1 - i}", token=token
            )
            cold.append(time.perf_counter() - start)
            cold_cpu.append(cpu() - start_cpu)
            assert status == 200
    finally:
        stop_api_server(server)
        patch.undo()

    def line(name: str, samples: list[float], cpu_samples: list[float]) -> str:
        ordered = sorted(samples)
        p95 = ordered[min(len(ordered) - 1, round(0.95 * (len(ordered) - 1)))]
        return (
            f"  {name:<34} median {1000 * statistics.median(samples):7.1f} ms   p95 {1000 * p95:7.1f} ms"
            f"   CPU mean {1000 * statistics.fmean(cpu_samples):6.1f} ms"
        )

    print(
        f"History of {args.runs} audited runs ({len(raw) / 1024:.0f} KiB of JSON), {args.requests} requests each"
        f" (load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores; CPU = the server's, counted in"
        " 10 ms ticks, hence the mean; in process, this process's):"
    )
    print(line("in-process query (dag_history)", in_process, in_process_cpu))
    print(line("GET, first view after a change", cold, cold_cpu))
    print(line("GET, history unchanged since", over_http, over_http_cpu))
    print("goal: under 200 ms over HTTP")


if __name__ == "__main__":
    main()
