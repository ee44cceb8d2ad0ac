"""Kernel SHAP accuracy per model call: the engine against shapiq's estimators (prints figures; not a test).

Equal model calls on both sides: every estimator gets the same number of coalitions per record
(shapiq's ``budget`` counts the empty and full coalitions, which the engine evaluates on top of its
``num_samples``, so shapiq gets ``num_samples + 2``), and each coalition costs K baseline rows.
The error is measured against exact Shapley values (all ``2^M - 2`` coalitions, the engine's exact
enumeration) of the same value function: ``v(S) = mean_k f(x_S, b_k)`` for probability of class 1.

Two models: a scikit-learn ``HistGradientBoostingClassifier`` (gradient-boosted trees,
microseconds per row, the realistic case) and the small MLP of ``bench_shap.py``. Several seeds
(the estimators' random state) and records; the figure is the RMS error over records and features,
averaged over seeds; the engine's ratio to every peer (shapiq's estimators and
``shap.KernelExplainer`` with ``nsamples`` = the engine's coalitions) is printed per budget, and the
ratio to the best shapiq estimator is judged PASS/MISS against the goal (<= 0.90: at least 10 % lower
error at equal model calls).

Run: ``.venv/bin/python -W ignore benchmarks/bench_shap_accuracy.py [--features 12] [--records 100]
[--seeds 5] [--budgets 512 1024] [--models hgb mlp] [--peers ...]`` (needs the ``bench`` extra for shapiq).
"""

from __future__ import annotations

import argparse
import os
import time

import numpy as np

BASELINE_ROWS = 5
GOAL = 0.90


def make_model(kind: str, m: int, seed: int = 0):
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(4000, m))
    z = X[:, 0] * X[:, 1] + np.sin(X[:, 2]) + X[:, 3:].sum(axis=1) * 0.3
    y = (z + rng.normal(scale=0.3, size=len(X)) > 0).astype(int)
    if kind == "hgb":
        from sklearn.ensemble import HistGradientBoostingClassifier

        model = HistGradientBoostingClassifier(max_iter=100, random_state=seed).fit(X, y)
    else:
        from sklearn.neural_network import MLPClassifier

        model = MLPClassifier(hidden_layer_sizes=(64, 64), max_iter=60, random_state=seed).fit(X, y)
    return model, X


def engine_values(table, baseline: np.ndarray, num_samples: int, seed: int, predict) -> np.ndarray:
    from airflow_provider_clarify.engine.explain.explainer import run_kernel_shap
    from airflow_provider_clarify.engine.explain.model_calls import ModelCaller, table_to_matrix
    from airflow_provider_clarify.engine.predictors import CallablePredictor

    config = {"baseline": baseline.tolist(), "num_samples": num_samples, "seed": seed}
    local = run_kernel_shap(
        table, table_to_matrix(table), config, ModelCaller(CallablePredictor(predict))
    ).local
    return local[:, -1, :]  # probability of class 1: (N, M)


def shapiq_values(
    estimator: str, x: np.ndarray, baseline: np.ndarray, budget: int, seed: int, predict
) -> np.ndarray:
    from shapiq import approximator

    m = len(x)

    def game(coalitions: np.ndarray) -> np.ndarray:
        coalitions = np.atleast_2d(np.asarray(coalitions, dtype=bool))
        rows = np.where(coalitions[:, None, :], x[None, None, :], baseline[None, :, :])  # (C, K, M)
        return predict(rows.reshape(-1, m))[:, -1].reshape(len(coalitions), -1).mean(axis=1)

    kinds = {
        "KernelSHAP": lambda: approximator.KernelSHAP(m, pairing_trick=True, random_state=seed),
        "kADD-SHAP": lambda: approximator.kADDSHAP(m, max_order=2, pairing_trick=True, random_state=seed),
        "SVARM": lambda: approximator.SVARM(m, random_state=seed),
        "PermutationSV": lambda: approximator.PermutationSamplingSV(m, random_state=seed),
    }
    values = kinds[estimator]().approximate(budget, game)
    return np.array([values.dict_values.get((j,), 0.0) for j in range(m)])


ESTIMATORS = ["KernelSHAP", "kADD-SHAP", "SVARM", "PermutationSV"]
#: every peer: shapiq's estimators and shap.KernelExplainer (paired sampling, l1_reg=False)
PEERS = [*ESTIMATORS, "shap"]


def shap_values(x_all: np.ndarray, baseline: np.ndarray, num_samples: int, seed: int, predict) -> np.ndarray:
    """``shap.KernelExplainer`` with ``nsamples`` = the engine's coalitions (it evaluates the empty and
    full coalitions on top, like the engine) and no feature selection (``l1_reg=False``)."""
    import shap

    explainer = shap.KernelExplainer(lambda rows: predict(rows)[:, -1], baseline)
    np.random.seed(seed)  # KernelExplainer samples with numpy's global generator
    return np.asarray(explainer.shap_values(x_all, nsamples=num_samples, silent=True, l1_reg=False))


def peer_values(
    peer: str, X: np.ndarray, baseline: np.ndarray, budget: int, seed: int, predict
) -> np.ndarray:
    if peer == "shap":
        return shap_values(X, baseline, budget, seed, predict)
    return np.array([shapiq_values(peer, x, baseline, budget + 2, seed, predict) for x in X])


def run(kind: str, m: int, records: int, seeds: int, budgets: list[int], peers: list[str]) -> list[tuple]:
    import pyarrow as pa
    from sklearn.cluster import KMeans

    model, train = make_model(kind, m)
    baseline = KMeans(n_clusters=BASELINE_ROWS, n_init=4, random_state=0).fit(train).cluster_centers_
    X = np.random.default_rng(1).normal(size=(records, m))
    table = pa.table({f"f{j}": X[:, j] for j in range(m)})
    predict = model.predict_proba
    exact = engine_values(table, baseline, (1 << m) - 2, 0, predict)
    verdicts = []
    for budget in budgets:
        errors: dict[str, list[float]] = {"engine": [], **{e: [] for e in peers}}
        seconds: dict[str, float] = dict.fromkeys(errors, 0.0)
        for seed in range(seeds):
            start = time.perf_counter()
            ours = engine_values(table, baseline, budget, seed, predict)
            seconds["engine"] += time.perf_counter() - start
            errors["engine"].append(float(np.sqrt(np.mean((ours - exact) ** 2))))
            for peer in peers:
                start = time.perf_counter()
                theirs = peer_values(peer, X, baseline, budget, seed, predict)
                seconds[peer] += time.perf_counter() - start
                errors[peer].append(float(np.sqrt(np.mean((theirs - exact) ** 2))))
        mean = {name: float(np.mean(values)) for name, values in errors.items()}
        print(f"[{kind}] M={m} N={records} K={BASELINE_ROWS} coalitions={budget} seeds={seeds}")
        for name in ["engine", *peers]:
            ratio = "" if name == "engine" else f"  engine / {name} = {mean['engine'] / mean[name]:.2f}"
            print(f"    {name:<14} RMS error {mean[name]:.3e}  (sd over seeds {np.std(errors[name]):.1e}, "
                  f"{seconds[name] / seeds:.2f}s per run){ratio}")  # fmt: skip
        shapiq_peers = [e for e in peers if e in ESTIMATORS] or peers
        best_peer = min(shapiq_peers, key=mean.__getitem__)
        ratio = mean["engine"] / mean[best_peer]
        verdict = "PASS" if ratio <= GOAL else "MISS"
        print(
            f"    engine / best shapiq estimator ({best_peer}) = {ratio:.2f}  goal <= {GOAL:.2f}: {verdict}"
        )
        verdicts.append((kind, budget, best_peer, ratio, verdict))
    return verdicts


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--features", type=int, default=12)
    parser.add_argument("--records", type=int, default=100)
    parser.add_argument("--seeds", type=int, default=5)
    parser.add_argument("--budgets", type=int, nargs="+", default=[512, 1024])
    parser.add_argument("--models", nargs="+", default=["hgb", "mlp"], choices=["hgb", "mlp"])
    parser.add_argument("--peers", nargs="+", default=PEERS, choices=PEERS)
    args = parser.parse_args()
    print(f"load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} CPUs")
    verdicts = []
    for kind in args.models:
        verdicts += run(kind, args.features, args.records, args.seeds, args.budgets, args.peers)
    print("\nsummary: engine RMS error / best shapiq estimator at equal model calls (goal <= 0.90)")
    for kind, budget, peer, ratio, verdict in verdicts:
        print(f"    {kind:<4} {budget:>6} coalitions  {ratio:.2f} vs {peer:<14} {verdict}")


if __name__ == "__main__":
    main()
