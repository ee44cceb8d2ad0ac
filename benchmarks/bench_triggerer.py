"""Triggerer footprint: N deferred Clarify jobs waited for by N triggers in one event loop.

Runs the fake AWS (moto server on 127.0.0.1) in a child process, where jobs stay ``InProgress`` for
``--job-seconds`` after creation and then complete, and counts every DescribeProcessingJob per job with
the time of the first one. This process then runs one ``ClarifyProcessingJobTrigger`` per job in one
asyncio event loop, as a triggerer does, and prints:

* memory (RSS of this process: before the triggers, peak while they run) and open file descriptors;
* first-poll latency: seconds from the start of the triggers to each job's first Describe;
* the longest event-loop stall (a 50 ms ticker measures how late it wakes up);
* Describe calls per job per interval; aiobotocore clients opened.

Goal (issue 11 item 5): 1,000 jobs under 300 MB, every first poll within one interval, no loop stall
over 1 s, at most one Describe per job per interval at a 10 s interval.

Run: ``PYTHONPATH=. python benchmarks/bench_triggerer.py --jobs 1000 --interval 10 --job-seconds 35``
(needs the ``test`` extra for moto and the ``bench`` extra for psutil).
"""

from __future__ import annotations

import argparse
import asyncio
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
    """Moto server whose processing jobs run ``job_seconds``; Describe counts served on ``stats_port``."""
    import threading
    from http.server import BaseHTTPRequestHandler, HTTPServer

    from moto.sagemaker.models import FakeProcessingJob, SageMakerModelBackend
    from moto.server import ThreadedMotoServer

    counts: dict[str, int] = {}
    first: dict[str, float] = {}
    created: dict[str, float] = {}
    lock = threading.Lock()
    original_init = FakeProcessingJob.__init__
    original_describe = SageMakerModelBackend.describe_processing_job

    def init(self, *args, **kwargs):
        original_init(self, *args, **kwargs)
        self.processing_job_status = "InProgress"
        created[self.processing_job_name] = time.time()

    def describe(self, processing_job_name):
        now = time.time()
        with lock:
            counts[processing_job_name] = counts.get(processing_job_name, 0) + 1
            first.setdefault(processing_job_name, now)
        job = self.processing_jobs.get(processing_job_name)
        if job is not None and now - created.get(processing_job_name, now) >= job_seconds:
            job.processing_job_status = "Completed"
        return original_describe(self, processing_job_name)

    FakeProcessingJob.__init__ = init
    SageMakerModelBackend.describe_processing_job = describe

    class Stats(BaseHTTPRequestHandler):
        def do_GET(self):
            with lock:
                body = json.dumps({"counts": counts, "first": first}).encode()
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
    import psutil

    from airflow_provider_clarify.triggers.clarify import ClarifyProcessingJobTrigger

    process = psutil.Process()
    stall = {"max": 0.0}
    peak = {"rss": process.memory_info().rss, "fds": fds()}
    done = asyncio.Event()

    async def ticker() -> None:
        tick = 0.05
        while not done.is_set():
            before = time.monotonic()
            await asyncio.sleep(tick)
            stall["max"] = max(stall["max"], time.monotonic() - before - tick)

    async def sampler() -> None:
        while not done.is_set():
            peak["rss"] = max(peak["rss"], process.memory_info().rss)
            peak["fds"] = max(peak["fds"], fds())
            await asyncio.sleep(0.5)

    async def first_event(trigger: ClarifyProcessingJobTrigger) -> tuple[str, float]:
        event = await trigger.run().__anext__()
        return event.payload["status"], time.time()

    helpers = [asyncio.create_task(ticker()), asyncio.create_task(sampler())]
    started = time.time()
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
        "started": started,
        "ended": {name: ended for name, (_, ended) in zip(names, results, strict=True)},
        "statuses": sorted({status for status, _ in results}),
        "peak_rss": peak["rss"],
        "peak_fds": peak["fds"],
        "max_stall": stall["max"],
        "clients_opened": opened,
    }


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


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
    server = subprocess.Popen(
        [
            sys.executable,
            str(Path(__file__).resolve()),
            "--serve",
            str(port),
            str(stats_port),
            str(args.job_seconds),
        ]
    )
    try:
        wait_for_port(port)
        wait_for_port(stats_port)
        names = [f"bench-{i:05d}" for i in range(args.jobs)]
        create_jobs(endpoint, names)
        import psutil

        import airflow_provider_clarify.triggers.clarify  # noqa: F401 - imports counted in the baseline

        baseline_rss, baseline_fds = psutil.Process().memory_info().rss, fds()
        result = asyncio.run(run_triggers(names, args.interval))
        stats = json.loads(urllib.request.urlopen(f"http://127.0.0.1:{stats_port}/").read())
    finally:
        server.terminate()
        server.wait(30)

    first_polls = [stats["first"][name] - result["started"] for name in names]
    per_interval = [
        stats["counts"][name] / max(1, math.ceil((result["ended"][name] - result["started"]) / args.interval))
        for name in names
    ]
    mb = 1024 * 1024
    print(f"jobs: {args.jobs}, interval: {args.interval:g} s, jobs complete after {args.job_seconds:g} s")
    print(f"events: {result['statuses']}")
    print(
        f"memory: baseline {baseline_rss / mb:.0f} MB, peak {result['peak_rss'] / mb:.0f} MB "
        f"(+{(result['peak_rss'] - baseline_rss) / mb:.0f} MB for the triggers)"
    )
    print(f"file descriptors: baseline {baseline_fds}, peak {result['peak_fds']}")
    print(
        "first poll after start (s): "
        f"min {min(first_polls):.2f}, median {statistics.median(first_polls):.2f}, "
        f"p95 {percentile(first_polls, 0.95):.2f}, max {max(first_polls):.2f}"
    )
    print(f"max event-loop stall: {result['max_stall']:.3f} s")
    print(
        f"Describe calls per job per interval: mean {statistics.mean(per_interval):.2f}, "
        f"max {max(per_interval):.2f} (total {sum(stats['counts'].values())})"
    )
    print(f"aiobotocore clients opened: {result['clients_opened']}")


if __name__ == "__main__":
    main()
