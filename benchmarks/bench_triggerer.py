"""Triggerer footprint: N deferred Clarify jobs waited for by N triggers in one event loop.

Runs the fake AWS (moto server on 127.0.0.1) in a child process, where jobs stay ``InProgress`` for
``--job-seconds`` after creation and then complete, and records the time of every DescribeProcessingJob
per job. This process then runs one ``ClarifyProcessingJobTrigger`` per job in one asyncio event loop,
as a triggerer does, and prints each figure next to its goal (issue 11 item 5), PASS or MISS:

* memory: peak RSS of this process while the triggers run (goal: under 300 MB for 1,000 jobs), and the
  open file descriptors (no goal; 623-780 before clients were shared);
* first-poll lateness: seconds from each trigger's start to its job's first Describe, max and p99
  (goal: every one within one interval);
* the longest event-loop stall (a 50 ms ticker measures how late it wakes up; goal: none over 1 s), with
  the CPU time the loop's thread used meanwhile: a stall with little CPU was the process waiting for a
  core on a busy machine, one with as much CPU as wall time was work done on the loop;
* Describe calls per job per interval: the most any job got within one interval (the shortest gap
  between two Describes of a job must be at least one interval) and the mean (goal: at most one);
* aiobotocore clients opened, CPU time of this process, and the load average before and after (the
  machine is shared: a loaded machine makes every latency figure worse, so report it with them).

The fake AWS answers each request on a new connection and thread (werkzeug closes every connection),
which costs the triggerer a TCP connect per poll that a real AWS endpoint, keeping connections alive,
does not; on 2 cores, it also competes with the triggerer for CPU.

Run: ``PYTHONPATH=. python benchmarks/bench_triggerer.py --jobs 1000 --interval 10 --job-seconds 35``
(needs the ``test`` extra for moto and the ``bench`` extra for psutil).
"""

from __future__ import annotations

import argparse
import asyncio
import collections
import json
import math
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

REGION = "us-east-1"
ROLE = "arn:aws:iam::123456789012:role/ClarifyRole"


# --- the fake AWS, in its own process --------------------------------------------------------------


def serve(port: int, stats_port: int, job_seconds: float) -> None:
    """Moto server whose processing jobs complete ``job_seconds`` after their first Describe (so every job
    is watched that long, however long creating a thousand of them took); Describe times on ``stats_port``."""
    import threading
    from http.server import BaseHTTPRequestHandler, HTTPServer

    from moto.sagemaker.models import FakeProcessingJob, SageMakerModelBackend
    from moto.server import ThreadedMotoServer

    calls: dict[str, list[float]] = {}
    lock = threading.Lock()
    original_init = FakeProcessingJob.__init__
    original_describe = SageMakerModelBackend.describe_processing_job

    def init(self, *args, **kwargs):
        original_init(self, *args, **kwargs)
        self.processing_job_status = "InProgress"

    def describe(self, processing_job_name):
        now = time.time()
        with lock:
            calls.setdefault(processing_job_name, []).append(now)
            first = calls[processing_job_name][0]
        job = self.processing_jobs.get(processing_job_name)
        if job is not None and now - first >= job_seconds:
            job.processing_job_status = "Completed"
        return original_describe(self, processing_job_name)

    FakeProcessingJob.__init__ = init
    SageMakerModelBackend.describe_processing_job = describe

    class Stats(BaseHTTPRequestHandler):
        def do_GET(self):
            with lock:
                body = json.dumps({"calls": calls}).encode()
            self.send_response(200)
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args):
            pass

    server = ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
    server.start()
    HTTPServer(("127.0.0.1", stats_port), Stats).serve_forever()


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def wait_for_port(port: int, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with socket.socket() as sock:
            if sock.connect_ex(("127.0.0.1", port)) == 0:
                return
        time.sleep(0.2)
    raise RuntimeError(f"nothing listening on 127.0.0.1:{port}")


# --- the triggerer side ------------------------------------------------------------------------------


def create_jobs(endpoint: str, names: list[str]) -> None:
    from concurrent.futures import ThreadPoolExecutor

    import boto3

    client = boto3.client("sagemaker", endpoint_url=endpoint, region_name=REGION)

    def create(name: str) -> None:
        client.create_processing_job(
            ProcessingJobName=name,
            ProcessingResources={
                "ClusterConfig": {"InstanceCount": 1, "InstanceType": "ml.c5.xlarge", "VolumeSizeInGB": 30}
            },
            AppSpecification={"ImageUri": "clarify"},
            RoleArn=ROLE,
            ProcessingOutputConfig={
                "Outputs": [
                    {
                        "OutputName": "analysis_result",
                        "S3Output": {
                            "S3Uri": f"s3://bench/{name}",
                            "LocalPath": "/opt/ml/processing/output",
                            "S3UploadMode": "EndOfJob",
                        },
                    }
                ]
            },
        )

    with ThreadPoolExecutor(8) as pool:
        list(pool.map(create, names))


def fds() -> int:
    return len(os.listdir("/proc/self/fd"))


async def run_triggers(names: list[str], interval: float) -> dict:
    """Run one trigger per job in this event loop until each yields its event; what it took."""
    import psutil

    from airflow_provider_clarify.triggers.clarify import ClarifyProcessingJobTrigger

    process = psutil.Process()
    stall = {"max": 0.0, "cpu_at_max": 0.0, "max_cpu": 0.0}
    peak = {"rss": process.memory_info().rss, "fds": fds()}
    done = asyncio.Event()

    async def ticker() -> None:
        tick = 0.05
        while not done.is_set():
            before, before_cpu = time.monotonic(), time.thread_time()
            await asyncio.sleep(tick)
            late = time.monotonic() - before - tick
            # CPU the loop's thread used meanwhile: work on the loop, as opposed to waiting for a core
            cpu = time.thread_time() - before_cpu
            if late > stall["max"]:
                stall["max"], stall["cpu_at_max"] = late, cpu
            stall["max_cpu"] = max(stall["max_cpu"], cpu - tick if cpu > tick else 0.0)

    async def sampler() -> None:
        while not done.is_set():
            peak["rss"] = max(peak["rss"], process.memory_info().rss)
            peak["fds"] = max(peak["fds"], fds())
            await asyncio.sleep(0.5)

    async def first_event(trigger: ClarifyProcessingJobTrigger) -> tuple[str, float, float]:
        started = time.time()  # the trigger's start, as the triggerer's run of it begins
        event = await trigger.run().__anext__()
        return event.payload["status"], started, time.time()

    helpers = [asyncio.create_task(ticker()), asyncio.create_task(sampler())]
    cpu = time.process_time()
    triggers = [ClarifyProcessingJobTrigger(job_name=name, check_interval=interval) for name in names]
    results = await asyncio.gather(*(first_event(t) for t in triggers))
    done.set()
    await asyncio.gather(*helpers)
    opened = None
    try:
        from airflow_provider_clarify.triggers._clients import cache_stats

        opened = cache_stats().opened
    except ImportError:  # an older provider without the shared client cache
        pass
    return {
        "started": {name: started for name, (_, started, _) in zip(names, results, strict=True)},
        "ended": {name: ended for name, (_, _, ended) in zip(names, results, strict=True)},
        "statuses": sorted({status for status, _, _ in results}),
        "cpu": time.process_time() - cpu,
        "peak_rss": peak["rss"],
        "peak_fds": peak["fds"],
        "max_stall": stall["max"],
        "stall_cpu": stall["cpu_at_max"],
        "max_busy": stall["max_cpu"],
        "clients_opened": opened,
    }


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def verdict(ok: bool) -> str:
    return "PASS" if ok else "MISS"


def report(args: argparse.Namespace, names: list[str], result: dict, calls: dict, baseline: dict) -> None:
    """Print every figure next to its goal."""
    interval = args.interval
    mb = 1024 * 1024
    lateness = [calls[name][0] - result["started"][name] for name in names]
    gaps = [b - a for name in names for a, b in zip(calls[name], calls[name][1:], strict=False)]
    per_interval = [
        len(calls[name]) / max(1, math.ceil((result["ended"][name] - result["started"][name]) / interval))
        for name in names
    ]
    # within 1 % of an interval counts as one interval (timer and clock granularity)
    most_in_one_interval = 1 if not gaps or min(gaps) >= interval * 0.99 else 2
    print(
        f"jobs: {args.jobs}, interval: {interval:g} s, jobs complete {args.job_seconds:g} s after their first poll"
    )
    print(f"events: {result['statuses']}")
    print(f"load average (1 min) before: {baseline['load']:.2f}, after: {os.getloadavg()[0]:.2f}")
    print(f"CPU time of the triggerer process while the triggers ran: {result['cpu']:.1f} s")
    print(
        f"memory: peak {result['peak_rss'] / mb:.0f} MB (baseline {baseline['rss'] / mb:.0f} MB, "
        f"+{(result['peak_rss'] - baseline['rss']) / mb:.0f} MB for the triggers); goal < 300 MB: "
        f"{verdict(result['peak_rss'] < 300 * mb)}"
    )
    print(f"file descriptors: peak {result['peak_fds']} (baseline {baseline['fds']}); no goal")
    print(
        f"first poll after the trigger's start (s): max {max(lateness):.2f}, p99 {percentile(lateness, 0.99):.2f}, "
        f"median {statistics.median(lateness):.2f}, min {min(lateness):.2f}; goal <= {interval:g} s: "
        f"{verdict(max(lateness) <= interval)}"
    )
    print(
        f"max event-loop stall: {result['max_stall']:.3f} s (the loop's thread used {result['stall_cpu']:.3f} s "
        f"of CPU meanwhile; the rest was waiting for a core); goal <= 1 s: {verdict(result['max_stall'] <= 1.0)}"
    )
    print(f"longest stretch of loop-thread CPU past one tick: {result['max_busy']:.3f} s")
    print(
        f"Describe calls per job per interval: at most {most_in_one_interval} in any one interval "
        f"(shortest gap {min(gaps) if gaps else float('nan'):.2f} s), mean {statistics.mean(per_interval):.2f} "
        f"(total {sum(len(c) for c in calls.values())}); goal <= 1: {verdict(most_in_one_interval <= 1)}"
    )
    print(f"aiobotocore clients opened: {result['clients_opened']}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--jobs", type=int, default=1000)
    parser.add_argument("--interval", type=float, default=10.0)
    parser.add_argument("--job-seconds", type=float, default=35.0)
    parser.add_argument(
        "--serve", nargs=3, metavar=("PORT", "STATS_PORT", "JOB_SECONDS"), help=argparse.SUPPRESS
    )
    args = parser.parse_args()
    if args.serve:
        serve(int(args.serve[0]), int(args.serve[1]), float(args.serve[2]))
        return

    port, stats_port = free_port(), free_port()
    endpoint = f"http://127.0.0.1:{port}"
    home = tempfile.mkdtemp(prefix="bench-triggerer-")
    os.environ.update(
        {
            "AIRFLOW_HOME": home,
            "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
            "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN": f"sqlite:///{home}/airflow.db",
            "AWS_ACCESS_KEY_ID": "testing",
            "AWS_SECRET_ACCESS_KEY": "testing",
            "AWS_DEFAULT_REGION": REGION,
            "AIRFLOW_CONN_AWS_DEFAULT": json.dumps(
                {"conn_type": "aws", "extra": {"endpoint_url": endpoint, "region_name": REGION}}
            ),
        }
    )
    server_log = tempfile.TemporaryFile()
    server = subprocess.Popen(
        [
            sys.executable,
            str(Path(__file__).resolve()),
            "--serve",
            str(port),
            str(stats_port),
            str(args.job_seconds),
        ],
        stderr=server_log,  # werkzeug's line per request
    )
    try:
        try:
            wait_for_port(port, timeout=300)  # moto starts slowly on a loaded machine
            wait_for_port(stats_port)
        except RuntimeError:
            server_log.seek(0)
            sys.exit(f"the fake AWS did not start:\n{server_log.read().decode(errors='replace')[-3000:]}")
        names = [f"bench-{i:05d}" for i in range(args.jobs)]
        create_jobs(endpoint, names)
        import psutil

        import airflow_provider_clarify.triggers.clarify  # noqa: F401 - imports counted in the baseline

        baseline = {"rss": psutil.Process().memory_info().rss, "fds": fds(), "load": os.getloadavg()[0]}
        result = asyncio.run(run_triggers(names, args.interval))
        calls = json.loads(urllib.request.urlopen(f"http://127.0.0.1:{stats_port}/").read())["calls"]
        server_cpu = sum(psutil.Process(server.pid).cpu_times()[:2])
    finally:
        server.terminate()
        server.wait(30)
    report(args, names, result, calls, baseline)
    times = sorted(t for name in names for t in calls[name])
    per_second = collections.Counter(int(t) for t in times)
    print(
        f"fake AWS: {len(times) / max(1e-9, times[-1] - times[0]):.0f} Describe calls a second on average, "
        f"at most {max(per_second.values())} in one second; its CPU time {server_cpu:.1f} s "
        f"(offered: {args.jobs / args.interval:.0f} a second once all triggers poll)"
    )


if __name__ == "__main__":
    main()
