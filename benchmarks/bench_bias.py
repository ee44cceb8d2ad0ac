"""Bias metrics end to end: the engine's CLI against smclarify, run live, and against the I/O floor.

For each format (CSV, Parquet) and size (``--rows``, default 1M; e.g. ``--rows 1000000 10000000``),
on seeded synthetic credit data with full-precision float columns (a feature ``income`` the metrics
read, a model ``score`` listed in ``excluded_columns`` that nothing reads), three whole processes
are timed, paired and alternating (``--repeats`` rounds, the order rotating each round), and the
median wall time and each process's peak RSS (``wait4``'s ``ru_maxrss``) are printed:

- **engine**: ``python -m airflow_provider_clarify.engine`` with pre- and post-training ``"all"``
  (``--post-methods`` narrows post-training, e.g. without FT);
- **smclarify**: smclarify 0.5 as the Clarify container runs it (``pandas.read_csv`` /
  ``read_parquet`` of the whole file, then ``bias_report`` per stage), in a virtualenv of its own
  that this benchmark creates on first use (``~/.cache/clarify-bench/smclarify-venv``, see
  :mod:`_smclarify_env`) and reuses afterwards;
- **floor**: one pass of ``pyarrow.csv.read_csv`` (or ``pyarrow.parquet.read_table``) over only the
  columns the analysis needs, then the engine's metric kernel (``compute_bias_sections``) on that
  table: what any reader must at least spend.

Then the goals of issue 12: engine / floor within 1.5x in time (CSV and Parquet) and 2x in memory
(Parquet), engine memory at most smclarify's; and the largest absolute difference between the
engine's metric values and smclarify's (every metric both report as a number).

``--engine-only-rows 100000000`` adds sizes run without smclarify (engine and floor only): smclarify
holds the whole frame in memory, which is past this machine's budget there. Datasets are generated
once under ``benchmarks/.data/`` (10M CSV rows are about 0.9 GB; 100M, 9 GB).

Run: ``python benchmarks/bench_bias.py [--rows N ...] [--formats csv parquet] [--repeats 3]
[--engine-only-rows N ...] [--post-methods all|M1,M2] [--smclarify-venv DIR]``
"""

from __future__ import annotations

import argparse
import json
import math
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO_ROOT))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from airflow_provider_clarify.engine.bias.registry import POST_TRAINING_METRICS  # noqa: E402

DATA_DIR = Path(__file__).resolve().parent / ".data"
#: Columns of the synthetic credit data, in file order.
COLUMNS = ["sex", "age", "income", "credit_amount", "duration", "housing", "score", "approved", "predicted"]
#: Read by no metric: the engine (and the floor) need not parse it; smclarify's reader does.
EXCLUDED = ["score"]
FEATURES = ["age", "income", "credit_amount", "duration", "housing"]
TIME_GOAL = 1.5
MEMORY_GOAL = 2.0
DATASET_TYPES = {"csv": "text/csv", "parquet": "application/x-parquet"}
#: Every post-training metric but the flip test (other benchmarks import it).
POST_WITHOUT_FT = [m.name for m in POST_TRAINING_METRICS if m.name != "FT"]


# --- data -------------------------------------------------------------------------------------------


def credit_table(rows: int, seed: int):
    """Synthetic credit data without float columns (string ``housing``); other benchmarks use it."""
    import numpy as np
    import pyarrow as pa

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


def credit_floats_table(rows: int, seed: int):
    """Synthetic credit data: bias injected through the facet ``sex`` into label and prediction.

    All features are numeric (so smclarify's flip test runs too); ``income`` and ``score`` are full-precision doubles (17 significant digits in the CSV), the
    case where pandas' float parsing differs from a correctly rounded one and costs the most.
    """
    import numpy as np
    import pyarrow as pa

    rng = np.random.default_rng(seed)
    male = rng.random(rows) < 0.6
    age = rng.integers(18, 90, rows, dtype=np.int64)
    income = rng.lognormal(10.5, 0.6, rows)
    amount = rng.integers(250, 20_000, rows, dtype=np.int64)
    duration = rng.integers(4, 72, rows, dtype=np.int64)
    housing = rng.integers(0, 3, rows, dtype=np.int64)
    logit = 0.35 * male - amount / 20_000 + (income - 36_000) / 40_000 + rng.normal(0, 1, rows)
    approved = (logit > 0).astype(np.int64)
    score = 1 / (1 + np.exp(-(logit + 0.25 * male + rng.normal(0, 0.5, rows))))
    predicted = (score > 0.5).astype(np.int64)
    sex = pa.DictionaryArray.from_arrays(pa.array(male.astype(np.int8)), ["female", "male"])
    return pa.table(
        {
            "sex": sex.cast(pa.string()),
            "age": age,
            "income": income,
            "credit_amount": amount,
            "duration": duration,
            "housing": housing,
            "score": score,
            "approved": approved,
            "predicted": predicted,
        }
    )


def ensure_dataset(fmt: str, rows: int) -> Path:
    """The ``rows``-row file of format ``fmt`` under ``benchmarks/.data`` (written once, atomically)."""
    import pyarrow.csv as pv
    import pyarrow.parquet as pq

    DATA_DIR.mkdir(parents=True, exist_ok=True)
    path = DATA_DIR / f"credit_floats_{rows}.{fmt}"
    if path.exists():
        return path
    tmp = path.with_name(path.name + ".tmp")
    chunk = 2_000_000
    start = time.perf_counter()
    schema = credit_floats_table(1, seed=0).schema
    if fmt == "parquet":
        with pq.ParquetWriter(tmp, schema) as writer:
            for index, offset in enumerate(range(0, rows, chunk)):
                writer.write_table(
                    credit_floats_table(min(chunk, rows - offset), seed=100 + index), 1_000_000
                )
    else:
        with pv.CSVWriter(tmp, schema) as writer:
            for index, offset in enumerate(range(0, rows, chunk)):
                writer.write_table(credit_floats_table(min(chunk, rows - offset), seed=100 + index))
    tmp.rename(path)
    print(
        f"[data] wrote {path.name} ({path.stat().st_size / 2**20:,.0f} MiB) in {time.perf_counter() - start:.0f} s",
        flush=True,
    )
    return path


# --- the analysis -----------------------------------------------------------------------------------


def analysis_config(fmt: str, post_methods: str) -> dict:
    return {
        "dataset_type": DATASET_TYPES[fmt],
        "label": "approved",
        "label_values_or_threshold": [1],
        "predicted_label": "predicted",
        "facet": [{"name_or_index": "sex", "value_or_threshold": ["female"]}],
        "group_variable": "housing",
        "excluded_columns": EXCLUDED,
        "methods": {
            "pre_training_bias": {"methods": "all"},
            "post_training_bias": {
                "methods": post_methods if post_methods == "all" else post_methods.split(",")
            },
        },
    }


def needed_columns(config: dict) -> list[str]:
    """What the analysis reads: label, prediction, facets, group variable, and FT's features."""
    post = config["methods"]["post_training_bias"]["methods"]
    columns = [config["label"], config["predicted_label"], config["group_variable"]]
    columns += [facet["name_or_index"] for facet in config["facet"]]
    if post == "all" or "FT" in post:
        columns += FEATURES
    return [c for c in COLUMNS if c in columns]


# --- the three processes ----------------------------------------------------------------------------


def floor_child(fmt: str, dataset: str, config_path: str) -> None:
    """One pass over the needed columns with pyarrow, then the metric kernel; prints JSON figures.

    ``import_s`` is the time from the process's start (interpreter, this module's imports) to here.
    pandas is kept out, as the engine's CLI keeps it out (pyarrow would import it only to ask whether
    its inputs are pandas objects; see airflow_provider_clarify/engine/pandas_free.py).
    """
    import psutil
    import pyarrow as pa

    from airflow_provider_clarify.engine.pandas_free import keep_pandas_out

    keep_pandas_out()

    started = time.time() - psutil.Process().create_time()
    begin = time.perf_counter()

    from airflow_provider_clarify.engine.bias import compute_bias_sections

    config = json.loads(Path(config_path).read_text())
    columns = needed_columns(config)
    imported = time.perf_counter()
    if fmt == "parquet":
        import pyarrow.parquet as pq

        table = pq.read_table(dataset, columns=columns)
    else:
        import pyarrow.csv as pv

        table = pv.read_csv(dataset, convert_options=pv.ConvertOptions(include_columns=columns))
    read = time.perf_counter()

    def batches(names):
        return table.select(list(names)).to_batches()

    post = config["methods"]["post_training_bias"]["methods"]
    compute_bias_sections(
        batches,
        label=config["label"],
        label_values=config["label_values_or_threshold"],
        facets=config["facet"],
        group_variable=config["group_variable"],
        predicted_label=config["predicted_label"],
        pre_training_methods="all",
        post_training_methods=post,
        feature_columns=[c for c in FEATURES if c in table.column_names],
        num_rows=table.num_rows,
        available_columns=table.column_names,
    )
    done = time.perf_counter()
    del pa
    print(
        json.dumps(
            {"import_s": started + imported - begin, "read_s": read - imported, "kernel_s": done - read}
        )
    )


class OverLimit(RuntimeError):
    """A process was stopped because it went past ``--limit-seconds`` or ``--limit-rss-mib``."""


def run_process(
    command: list[str],
    env: dict[str, str] | None = None,
    *,
    limit_seconds: float | None = None,
    limit_rss_mib: float | None = None,
    cwd: Path | None = None,
) -> tuple[float, float, float, str]:
    """``(wall seconds, CPU seconds, peak RSS MiB, stdout)`` of one whole process (start to exit).

    CPU = user + system time of the process and its threads (``wait4``): unlike wall time it does
    not grow when other work shares the machine's cores. With a limit, the process is watched
    (RSS every 0.2 s) and killed past it (:class:`OverLimit`): a run that cannot finish on this
    machine is reported as such, never replaced by a number.
    """
    import psutil

    with tempfile.TemporaryFile("w+") as out, tempfile.TemporaryFile("w+") as err:
        start = time.perf_counter()
        process = subprocess.Popen(command, stdout=out, stderr=err, env=env, cwd=cwd)
        watched = psutil.Process(process.pid)
        stopped = None
        while True:
            pid, status, usage = os.wait4(process.pid, os.WNOHANG if (limit_seconds or limit_rss_mib) else 0)
            if pid:
                break
            elapsed = time.perf_counter() - start
            try:
                rss = watched.memory_info().rss / 2**20
            except psutil.Error:
                rss = 0.0
            if stopped is None and limit_seconds and elapsed > limit_seconds:
                stopped = f"still running after {elapsed:.0f} s (limit {limit_seconds:.0f} s)"
            elif stopped is None and limit_rss_mib and rss > limit_rss_mib:
                stopped = f"RSS {rss:,.0f} MiB after {elapsed:.0f} s (limit {limit_rss_mib:,.0f} MiB)"
            if stopped is not None:
                process.kill()
            time.sleep(0.2)
        wall = time.perf_counter() - start
        process.returncode = os.waitstatus_to_exitcode(status)
        if stopped is not None:
            raise OverLimit(stopped)
        out.seek(0)
        err.seek(0)
        if process.returncode != 0:
            raise RuntimeError(f"{' '.join(command)} exited {process.returncode}:\n{err.read()[-3000:]}")
        return wall, usage.ru_utime + usage.ru_stime, usage.ru_maxrss / 1024, out.read()


# --- comparing the values ---------------------------------------------------------------------------


def metric_values(document: dict) -> dict[tuple, object]:
    values = {}
    for stage in ("pre_training_bias_metrics", "post_training_bias_metrics"):
        for facet, entries in (document.get(stage) or {}).get("facets", {}).items():
            for entry in entries:
                for metric in entry["metrics"]:
                    key = (stage, facet, str(entry.get("value_or_threshold")), metric["name"])
                    values[key] = metric.get("value", "error")
    return values


def compare(engine: dict, smclarify: dict) -> tuple[float, int, list[str]]:
    """``(max |engine - smclarify|, numbers compared, disagreements)`` over the metrics both report."""
    ours, theirs = metric_values(engine), metric_values(smclarify)
    largest, compared, different = 0.0, 0, []
    for key, want in theirs.items():
        got = ours.get(key)
        if key not in ours:
            different.append(f"{key[3]}: missing in the engine's output")
            continue
        numbers = all(isinstance(v, int | float) and math.isfinite(v) for v in (got, want))
        if numbers:
            compared += 1
            largest = max(largest, abs(got - want))
        elif str(got) != str(want) and not (
            isinstance(got, float) and str(want) in ("Infinity", "-Infinity")
        ):
            different.append(f"{key[3]}: engine {got!r}, smclarify {want!r}")
    return largest, compared, different


# --- the benchmark ----------------------------------------------------------------------------------


def _verdict(ratio: float, goal: float) -> str:
    return f"{ratio:5.2f}x {'PASS' if ratio <= goal else 'MISS'} (goal <= {goal}x)"


def bench_case(fmt: str, rows: int, args, smclarify: Path | None) -> None:
    dataset = ensure_dataset(fmt, rows)
    config = analysis_config(fmt, args.post_methods)
    env = {
        **os.environ,
        "PYTHONPATH": os.pathsep.join(filter(None, [str(REPO_ROOT), os.environ.get("PYTHONPATH")])),
    }
    with tempfile.TemporaryDirectory(prefix="bench-bias-") as work:
        work = Path(work)
        config_path = work / "analysis_config.json"
        config_path.write_text(json.dumps(config))
        commands = {
            "engine": [
                sys.executable, "-m", "airflow_provider_clarify.engine", "--analysis-config", str(config_path),
                "--dataset", str(dataset), "--output", str(work / "engine"),
            ],
            "floor": [sys.executable, __file__, "--child-floor", fmt, str(dataset), str(config_path)],
        }  # fmt: skip
        envs = {side: env for side in commands}
        # `python -m` puts the working directory first on sys.path: each engine runs from its tree
        cwds = {side: REPO_ROOT for side in commands}
        if args.before_tree is not None:
            commands["before"] = [*commands["engine"][:-1], str(work / "before")]
            envs["before"] = {**env, "PYTHONPATH": str(args.before_tree.resolve())}
            cwds["before"] = args.before_tree.resolve()
        if smclarify is not None:
            from _smclarify_env import CHILD_SCRIPT

            commands["smclarify"] = [
                str(smclarify), str(CHILD_SCRIPT), str(config_path), str(dataset), str(work / "smclarify.json")
            ]  # fmt: skip
            envs["smclarify"] = env
            cwds["smclarify"] = REPO_ROOT
        sides = list(commands)
        samples: dict[str, list[tuple[float, float, float]]] = {side: [] for side in sides}
        stopped: dict[str, str] = {}
        floor_parts = []
        for round_ in range(args.repeats):
            order = sides[round_ % len(sides) :] + sides[: round_ % len(sides)]
            for side in order:
                if side in stopped:
                    continue
                limits = {}
                if side == "smclarify":
                    limits = {
                        "limit_seconds": args.smclarify_limit_seconds,
                        "limit_rss_mib": args.smclarify_limit_rss_mib,
                    }
                try:
                    wall, cpu, rss, out = run_process(commands[side], envs[side], cwd=cwds[side], **limits)
                except OverLimit as exc:
                    stopped[side] = str(exc)
                    continue
                samples[side].append((wall, cpu, rss))
                if side == "floor":
                    floor_parts.append(json.loads(out.strip().splitlines()[-1]))
        median = {
            side: tuple(statistics.median(column) for column in zip(*s)) for side, s in samples.items() if s
        }
        size = f"{dataset.stat().st_size / 2**20:,.0f} MiB"
        load = os.getloadavg()[0]
        print(f"\n[{fmt} {rows:,} rows, {size}] medians of {args.repeats} paired rounds; load average {load:.1f} "
              f"on {os.cpu_count()} cores")  # fmt: skip
        print(f"  {'':<10} {'wall':>8}    {'CPU':>8}    {'peak RSS':>8}")
        for side in sides:
            if side not in median:
                print(f"  {side:<10} did not finish: stopped, {stopped[side]}")
                continue
            wall, cpu, rss = median[side]
            print(f"  {side:<10} {wall:8.2f} s  {cpu:8.2f} s  {rss:8.0f} MiB")
        parts = {k: statistics.median(p[k] for p in floor_parts) for k in floor_parts[0]}
        print(
            f"  floor parts: start and imports {parts['import_s']:.2f} s, one pyarrow pass over {len(needed_columns(config))} "
            f"columns {parts['read_s']:.2f} s, metric kernel {parts['kernel_s']:.2f} s"
        )
        engine_time, engine_cpu, engine_rss = median["engine"]
        floor_time, floor_cpu, floor_rss = median["floor"]
        print(f"  engine / floor time    {_verdict(engine_time / floor_time, TIME_GOAL)}  "
              f"[CPU: {_verdict(engine_cpu / floor_cpu, TIME_GOAL)}]")  # fmt: skip
        memory_line = f"  engine / floor memory  {_verdict(engine_rss / floor_rss, MEMORY_GOAL)}"
        print(
            memory_line
            if fmt == "parquet"
            else memory_line.replace("(goal", "(informative; goal for Parquet")
        )
        if "before" in median:
            before_time, before_cpu, before_rss = median["before"]
            print(f"  before / floor         time {before_time / floor_time:.2f}x, CPU {before_cpu / floor_cpu:.2f}x; "
                  f"peak RSS before {before_rss:.0f} MiB, after {engine_rss:.0f} MiB")  # fmt: skip
            if "smclarify" in median:
                print(f"  before vs smclarify    memory {before_rss:.0f} vs {median['smclarify'][2]:.0f} MiB: "
                      f"{'PASS' if before_rss <= median['smclarify'][2] else 'MISS'}")  # fmt: skip
        if "smclarify" in stopped:
            print(f"  engine vs smclarify    smclarify could not run here: {stopped['smclarify']}")
        if "smclarify" in median:
            smc_time, smc_cpu, smc_rss = median["smclarify"]
            fits = "PASS" if engine_rss <= smc_rss else "MISS"
            print(f"  engine vs smclarify    {smc_time / engine_time:5.1f}x faster (CPU {smc_cpu / engine_cpu:.1f}x); memory {engine_rss:.0f} vs "
                  f"{smc_rss:.0f} MiB: {fits} (goal: engine <= smclarify)")  # fmt: skip
            engine_doc = json.loads((work / "engine" / "analysis.json").read_text())
            smc_doc = json.loads((work / "smclarify.json").read_text())
            largest, compared, different = compare(engine_doc, smc_doc)
            print(f"  metric values: max |engine - smclarify| = {largest:.3g} over {compared} numbers"
                  + (f"; {len(different)} differ: {'; '.join(different[:4])}" if different else "; all agree"))  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--rows", type=int, nargs="*", default=[1_000_000], help="sizes with smclarify")
    parser.add_argument(
        "--engine-only-rows",
        type=int,
        nargs="*",
        default=[],
        help="sizes run without smclarify (e.g. 100000000)",
    )
    parser.add_argument("--formats", nargs="+", choices=sorted(DATASET_TYPES), default=["csv", "parquet"])
    parser.add_argument("--repeats", type=int, default=3, help="paired rounds per case (medians)")
    parser.add_argument(
        "--post-methods", default="all", help='post-training methods: "all" or a comma list (e.g. without FT)'
    )
    parser.add_argument("--smclarify-venv", type=Path, default=None, help="virtualenv for smclarify")
    parser.add_argument(
        "--before-tree",
        type=Path,
        default=None,
        help="a checkout of another revision (e.g. `git archive main | tar -x -C DIR`): its CLI is timed as "
        "a fourth side, 'before', in the same alternating rounds",
    )
    parser.add_argument(
        "--smclarify-limit-seconds",
        type=float,
        default=1800,
        help="stop a smclarify run after this long and print that it could not run (default 1800)",
    )
    parser.add_argument(
        "--smclarify-limit-rss-mib",
        type=float,
        default=8192,
        help="stop a smclarify run past this RSS (default 8192 MiB; the machine is shared)",
    )
    parser.add_argument("--child-floor", nargs=3, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child_floor:
        floor_child(*args.child_floor)
        return
    from _smclarify_env import DEFAULT_VENV, smclarify_python

    smclarify, versions = smclarify_python(args.smclarify_venv or DEFAULT_VENV)
    print(f"smclarify side: {smclarify} ({versions}); engine side: {sys.executable}")
    print(f"post-training methods: {args.post_methods}; {args.repeats} paired, alternating rounds per case")
    for rows in args.rows:
        for fmt in args.formats:
            bench_case(fmt, rows, args, smclarify)
    for rows in args.engine_only_rows:
        for fmt in args.formats:
            bench_case(fmt, rows, args, None)


if __name__ == "__main__":
    main()
