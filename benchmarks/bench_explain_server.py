"""Open explainer benchmark: explanation latency per record against the model's own time.

Setup: a scikit-learn MLP on ``--features`` numeric features (default 10), served by the engine's
artifact model server (``engine/explain_server/artifact_server.py``, its own process); the open
explainer (its own process) in front of it with a one-row baseline and every one of the 2^M - 2
coalitions (exact Shapley values; 1,022 coalitions for M = 10), ``MaxRecordCount`` = ``--batch``.

Per concurrency level (default 1, 8 and 32 clients; each client sends one-record invocations):

* **explain**: wall time of one ``POST /invocations`` with explanations (p50 / p99), and the
  throughput in explained records per second;
* **model**: the *pure model time* of the same work, i.e. the same clients sending the model server,
  directly, exactly the requests the explainer sends it for one record (the record itself, and its
  coalition rows, the record and the baseline row, cut into the same batches), all at once with the
  same 16 requests in flight: the physical limit of an explainer that has to evaluate those rows;
* **ratio** = p50(explain) / p50(model) of each round (the two measurements run back to back, so both
  see the same load), the median over rounds; goal <= 1.2;
* **CPU per record** of the explainer process and of the model-server process during the explain
  phase (from ``/proc/<pid>/stat``): unlike latencies, CPU time hardly depends on the machine's load,
  so ``(explainer + model) / model`` is the load-independent cost ratio of explaining through the
  server (the ratio latencies converge to when both processes share saturated cores).

The two measurements alternate in rounds so that both see the same machine load (printed).

Run: ``.venv/bin/python benchmarks/bench_explain_server.py`` (``--quick`` for a short run; options
``--features``, ``--batch``, ``--requests`` per client, ``--concurrency 1 8 32``).
"""

from __future__ import annotations

import argparse
import os
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np

GOAL = 1.2


def train_model(m: int, path: Path) -> None:
    import joblib
    from sklearn.neural_network import MLPClassifier

    rng = np.random.default_rng(0)
    x = rng.normal(size=(2000, m))
    y = (x[:, 0] * x[:, 1] + np.sin(x[:, 2]) + x[:, 3:].sum(axis=1) * 0.2 > 0).astype(int)
    joblib.dump(MLPClassifier(hidden_layer_sizes=(32,), max_iter=300, random_state=0).fit(x, y), path)


def explainer_request(baseline: np.ndarray, batch: int) -> dict:
    from airflow_provider_clarify.analysis.online import (
        ClarifyExplainerConfig,
        ClarifyInferenceConfig,
        ClarifyShapBaselineConfig,
        ClarifyShapConfig,
        ExplainerConfig,
        inline_baseline,
    )

    shap = ClarifyShapConfig(
        ClarifyShapBaselineConfig(shap_baseline=inline_baseline(baseline.tolist())), seed=0
    )
    inference = ClarifyInferenceConfig(probability_index=0, max_record_count=batch)
    return ExplainerConfig(ClarifyExplainerConfig(shap, inference_config=inference)).to_request_dict()


def model_requests(record: np.ndarray, baseline: np.ndarray, batch: int) -> list[bytes]:
    """The bodies the explainer sends the model for one record (same rows, same batches)."""
    from airflow_provider_clarify.engine.explain.coalitions import coalition_budget, plan_coalitions
    from airflow_provider_clarify.engine.explain.synthetic import TabularRows
    from airflow_provider_clarify.engine.explain_server.codec import RowEncoder
    from airflow_provider_clarify.engine.explain_server.model_client import split_requests

    m = record.shape[0]
    plan = plan_coalitions(m, coalition_budget(m, None), np.random.default_rng(0))
    rows = TabularRows(record[None, :], baseline, list(range(m)))
    matrix = np.concatenate([rows.coalition_rows(np.arange(1), plan.masks), record[None, :], baseline])
    groups = split_requests(RowEncoder("text/csv").encode(matrix), batch, 6 * 1024 * 1024)
    return [b"\n".join(group) + b"\n" for group in groups]


def cpu_seconds(pid: int) -> float:
    """User + system CPU time of a process (Linux ``/proc``)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def percentile(values: list[float], q: float) -> float:
    return float(np.percentile(np.array(values) * 1000, q))


def run_level(
    url: str,
    model_url: str,
    records: np.ndarray,
    baseline: np.ndarray,
    clients: int,
    per_client: int,
    batch: int,
    pids: tuple[int, ...] = (),
):
    import httpx

    headers = {"Content-Type": "text/csv", "Accept": "text/csv"}
    http = httpx.Client(limits=httpx.Limits(max_connections=200, max_keepalive_connections=200), timeout=120)
    model_pool = ThreadPoolExecutor(max_workers=16)
    bodies = [[",".join(map(repr, records[(c * per_client + i) % len(records)].tolist())) + "\n"
               for i in range(per_client)] for c in range(clients)]  # fmt: skip
    synthetic = {body: model_requests(np.array([float(v) for v in body.split(",")]), baseline, batch)
                 for client in bodies for body in client}  # fmt: skip

    def explain_client(client: list[str]) -> list[float]:
        out = []
        for body in client:
            start = time.perf_counter()
            response = http.post(url + "/invocations", content=body.encode(), headers=headers)
            out.append(time.perf_counter() - start)
            assert response.status_code == 200, response.text
        return out

    def model_client(client: list[str]) -> list[float]:
        out = []
        for body in client:
            start = time.perf_counter()
            for response in model_pool.map(
                lambda payload: http.post(model_url + "/invocations", content=payload, headers=headers),
                [body.encode(), *synthetic[body]],
            ):
                response.raise_for_status()
            out.append(time.perf_counter() - start)
        return out

    explain, model = [], []
    wall = 0.0
    cpu: tuple[float, ...] = (0.0, 0.0)
    with ThreadPoolExecutor(max_workers=clients) as pool:
        for measure, into in ((model_client, model), (explain_client, explain)):
            before = [cpu_seconds(pid) for pid in pids]
            start = time.perf_counter()
            for latencies in pool.map(measure, bodies):
                into.extend(latencies)
            if measure is explain_client:
                wall = time.perf_counter() - start
                cpu = tuple(cpu_seconds(pid) - b for pid, b in zip(pids, before))
    http.close()
    model_pool.shutdown()
    return explain, model, clients * per_client / wall, cpu


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--features", type=int, default=10)
    parser.add_argument("--batch", type=int, default=256, help="MaxRecordCount")
    parser.add_argument(
        "--requests", type=int, default=None, help="invocations per client (default 64 / clients, >= 2)"
    )
    parser.add_argument("--concurrency", type=int, nargs="+", default=[1, 8, 32])
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--quick", action="store_true")
    args = parser.parse_args()
    if args.quick:
        args.rounds = 1
    from airflow_provider_clarify.engine.explain_server.local import start_local_endpoint, stop_local_endpoint

    rng = np.random.default_rng(1)
    m = args.features
    baseline = np.round(rng.normal(size=(1, m)), 4)
    records = np.round(rng.normal(size=(256, m)), 4)
    with tempfile.TemporaryDirectory() as tmp:
        artifact = Path(tmp) / "model.joblib"
        train_model(m, artifact)
        endpoint = start_local_endpoint(explainer_request(baseline, args.batch), tmp, model_artifact=artifact)
        try:
            coalitions = (1 << m) - 2
            print(f"M={m} features, 1 baseline row, {coalitions} coalitions (exact) -> {coalitions + 2} model rows "
                  f"per record, MaxRecordCount={args.batch}; load average {os.getloadavg()[0]:.1f}")  # fmt: skip
            print(f"{'clients':>7} {'explain p50':>12} {'p99':>8} {'model p50':>10} {'p99':>8} {'ratio p50':>10} "
                  f"{'records/s':>10} {'CPU/record: explainer':>22} {'model':>7} {'cost ratio':>10}")  # fmt: skip
            model_pid, explainer_pid = endpoint["pids"]
            run_level(endpoint["url"], endpoint["model_url"], records, baseline, 1, 2, args.batch)  # warm-up
            for clients in args.concurrency:
                per_client = args.requests or max(2, 64 // clients)
                if args.quick:
                    per_client = max(1, per_client // 4)
                explain, model, throughput, paired = [], [], [], []
                cpu_explainer = cpu_model = 0.0
                for _ in range(args.rounds):
                    e, mo, t, cpu = run_level(
                        endpoint["url"], endpoint["model_url"], records, baseline, clients, per_client,
                        args.batch, (explainer_pid, model_pid),
                    )  # fmt: skip
                    explain += e
                    model += mo
                    paired.append(percentile(e, 50) / percentile(mo, 50))
                    throughput.append(t)
                    cpu_explainer += cpu[0]
                    cpu_model += cpu[1]
                # the median of per-round ratios: each round's two phases ran back to back, under the
                # same load, so drifting load cancels out of each pair
                ratio = float(np.median(paired))
                n = len(explain)
                cost = (cpu_explainer + cpu_model) / cpu_model if cpu_model else float("nan")
                print(f"{clients:>7} {percentile(explain, 50):>10.1f}ms {percentile(explain, 99):>6.1f}ms "
                      f"{percentile(model, 50):>8.1f}ms {percentile(model, 99):>6.1f}ms {ratio:>10.2f} "
                      f"{np.median(throughput):>10.1f} {cpu_explainer / n * 1000:>20.1f}ms "
                      f"{cpu_model / n * 1000:>5.1f}ms {cost:>10.2f}"
                      + ("  PASS" if ratio <= GOAL else f"  MISS (goal p50 ratio <= {GOAL})"))  # fmt: skip
        finally:
            stop_local_endpoint(endpoint)


if __name__ == "__main__":
    main()
