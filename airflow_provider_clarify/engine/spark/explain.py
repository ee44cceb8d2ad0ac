"""Kernel SHAP and partial dependence on Spark: the single-machine explanations, rows on the executors.

What runs where (``docs/scale-out.md``, "Explanations on Spark"):

1. **Rows per segment** (one pass): how many records each segment holds, and the feature schema.
2. **Baseline** (driver): a baseline URI or inline rows as on one machine; a computed baseline draws
   the same seeded row indices (:func:`~airflow_provider_clarify.engine.explain.baseline.cluster_sample`)
   from the row count, fetches only those rows from the executors, in the sample's order, and
   clusters them with the single-machine code: the same baseline rows.
3. **Kernel SHAP** (executors): the driver draws the one coalition plan of
   :func:`~airflow_provider_clarify.engine.explain.explainer.tabular_plan` and ships it with the
   baseline; the records are cut into *units* that are whole model calls of one machine
   (:func:`~airflow_provider_clarify.engine.explain.synthetic.records_per_call` records each,
   counted from the first record, across segment boundaries; a few units per core), and each task
   runs :func:`~airflow_provider_clarify.engine.explain.synthetic.explain_group` on its unit. So
   every model call and every batched least-squares solve holds the rows it holds on one machine
   (BLAS results depend on the batch's shape, not only on the column), and with every feature
   explained the first unit, run first, hands its baseline mean (the common base) to the others,
   as the first call does on one machine. The local values come back to the driver in dataset order (they
   are ``explanations_shap/out.csv`` and the report's beeswarm anyway), and the global values,
   ``expected_value`` and the files are computed there by the single-machine code: equal.
4. **PDP**: the grid from a distributed pass (numeric: minimum and maximum, then bucket counts;
   categorical: counts in order of first appearance; strings: the free-text test's counts), all
   exact; the model calls per unit, their sums per grid value added on the driver. Only those sums
   may differ from one machine, in the last bits (a different summation order).

The model: an in-process model (a Python model or a trusted artifact, loaded on the driver) is
pickled once and broadcast, and each executor's Python worker unpickles it once; a model behind the
SageMaker hosting contract (``--model-url``) or a SageMaker endpoint is called from the executors,
each building its own client from the same settings.
"""

from __future__ import annotations

import hashlib
import math
import pickle
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from airflow_provider_clarify.engine.errors import EngineConfigError, EngineRuntimeError

if TYPE_CHECKING:
    import numpy as np
    import pyarrow as pa
    from pyspark.sql import SparkSession

    from airflow_provider_clarify.engine.spark.dataset import SparkDataset

#: Units (row ranges) per core of the session: enough tasks to balance, few enough to stay cheap.
UNITS_PER_CORE = 2
#: At most this many records per unit (a failed task repeats little work).
MAX_UNIT_ROWS = 100_000


class SparkExplanationError(EngineConfigError):
    """What the Spark backend cannot explain (names the field and the fix)."""


# --------------------------------------------------------------------------------------------------
# The model on the executors
# --------------------------------------------------------------------------------------------------

_PREDICTORS: dict[str, Any] = {}  # per Python worker: key -> predictor (built or unpickled once)


@dataclass
class ShippedPredictor:
    """A picklable handle to the model, resolved once per executor Python worker.

    ``payload``: the pickled in-process predictor (a Spark broadcast, or the bytes themselves on
    Spark Connect); ``recipe``: the arguments of ``runner.build_predictor`` for a remote model.
    """

    key: str
    payload: Any = None
    recipe: dict | None = None

    def get(self) -> Any:
        predictor = _PREDICTORS.get(self.key)
        if predictor is None:
            if self.recipe is not None:
                from airflow_provider_clarify.engine import runner

                predictor = runner.build_predictor(**self.recipe)
            else:
                from pyspark import cloudpickle

                data = self.payload.value if hasattr(self.payload, "value") else self.payload
                predictor = cloudpickle.loads(data)
            _PREDICTORS[self.key] = predictor
        return predictor


def ship_predictor(spark: SparkSession, model: Any, predictor: Any, recipe: dict) -> ShippedPredictor:
    """The handle the executors use: a recipe for models behind HTTP or an endpoint, else the pickled
    in-process predictor (broadcast once)."""
    from airflow_provider_clarify.analysis.model_source import ModelSource
    from airflow_provider_clarify.engine.predictors import RemotePredictor

    remote_source = model is None or isinstance(model, ModelSource | str | dict)
    if remote_source and isinstance(predictor, RemotePredictor):
        key = hashlib.sha256(pickle.dumps(sorted(map(repr, recipe.items())))).hexdigest()
        return ShippedPredictor(key=key, recipe=recipe)
    from pyspark import cloudpickle

    try:
        data = cloudpickle.dumps(predictor)
    except Exception as exc:
        raise SparkExplanationError(
            f"The model ({type(predictor).__name__}) cannot be pickled for the Spark executors ({exc}). "
            "Give a picklable model (a scikit-learn estimator, a module-level function), a trusted "
            "artifact, or serve it behind the SageMaker hosting contract (model URL).",
            field="model",
            value=type(predictor).__name__,
        ) from None
    key = hashlib.sha256(data).hexdigest()
    try:
        payload: Any = spark.sparkContext.broadcast(data)
    except Exception:  # Spark Connect: no SparkContext, the bytes travel with the tasks
        payload = data
    return ShippedPredictor(key=key, payload=payload)


# --------------------------------------------------------------------------------------------------
# Units: row ranges of segments
# --------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Unit:
    """Records ``[offset, offset + size)`` of the dataset: ``pieces`` are ``(segment, start, stop)``
    row ranges counted within each segment, in dataset order."""

    pieces: tuple
    offset: int

    @property
    def size(self) -> int:
        return sum(stop - start for _, start, stop in self.pieces)


def segment_rows(data: SparkDataset, columns: list[str]) -> tuple[list[int], pa.Schema]:
    """Records per segment (dataset order) and the typed schema of ``columns``."""

    def update(state: dict, batch: pa.RecordBatch) -> None:
        state["rows"] += batch.num_rows
        if state["schema"] is None and batch.num_rows:
            state["schema"] = batch.schema

    parts = data.run(columns, lambda: {"rows": 0, "schema": None}, update, lambda s: s)
    schema = next((p["schema"] for p in parts if p["schema"] is not None), None)
    if schema is None:
        raise EngineConfigError("The dataset has no records to explain; SHAP needs at least one row.")
    return [p["rows"] for p in parts], schema


def unit_of(data: SparkDataset, rows: Sequence[int], low: int, high: int) -> Unit:
    """The unit of the dataset's records ``[low, high)`` (across segment boundaries)."""
    pieces, offset = [], 0
    for segment, count in zip(data.segments, rows, strict=True):
        start, stop = max(low - offset, 0), min(high - offset, count)
        if stop > start:
            pieces.append((segment, start, stop))
        offset += count
    return Unit(tuple(pieces), low)


def plan_units(data: SparkDataset, rows: Sequence[int], parallelism: int, step: int) -> list[Unit]:
    """Cut the records into units at multiples of ``step`` (the records of one model call on one
    machine), about ``UNITS_PER_CORE`` per core; the first unit is one step."""
    total = sum(rows)
    steps = math.ceil(total / step)
    per_unit = max(
        1, min(math.ceil(steps / max(1, parallelism * UNITS_PER_CORE)), MAX_UNIT_ROWS // step or 1)
    )
    bounds = [0, min(step, total)]
    while bounds[-1] < total:
        bounds.append(min(total, bounds[-1] + per_unit * step))
    return [unit_of(data, rows, low, high) for low, high in zip(bounds, bounds[1:], strict=False)]


def _parallelism(spark: SparkSession) -> int:
    try:
        return max(1, spark.sparkContext.defaultParallelism)
    except Exception:  # Spark Connect
        return max(1, int(spark.conf.get("spark.default.parallelism", "8") or 8))


def _unit_table(data: SparkDataset, columns: list[str]):
    """A picklable function: a unit -> the pyarrow table of its records' ``columns``."""
    source, convert = data.source, data.converter(list(columns))
    wanted = list(columns)

    def read(unit: Unit) -> pa.Table:
        import pyarrow as pa

        pieces = []
        for segment, start, stop in unit.pieces:
            seen = 0
            for raw in source.read(segment, wanted):
                batch = convert(raw)
                low, high = max(start - seen, 0), min(stop - seen, batch.num_rows)
                if high > low:
                    pieces.append(batch.slice(low, high - low))
                seen += batch.num_rows
                if seen >= stop:
                    break
        return pa.Table.from_batches(pieces)

    return read


def run_units(spark: SparkSession, units: Sequence[Any], work) -> list[Any]:
    """``work(unit)`` on the executors, one unit per partition; the results in unit order.

    Errors the single-machine engine raises (a bad model answer, an unreachable model) come back
    as the unit's result and are raised here, the first in dataset order.
    """
    from airflow_provider_clarify.engine.spark.segments import run_segments, segment_frame

    def read(unit: Any) -> Iterator[Any]:
        yield _guarded(work, unit)

    def update(state: list, item: Any) -> None:
        state.append(item)

    results = run_segments(segment_frame(spark, len(units)), units, read, list, update, lambda s: s[0])
    for status, value in results:
        if status == "error":
            raise restored(value)
    return [value for _, value in results]


def _guarded(work, unit) -> tuple[str, Any]:
    try:
        return "ok", work(unit)
    except Exception as exc:
        return "error", portable(exc)


def portable(exc: Exception) -> Any:
    """What carries ``exc`` from an executor to the driver: the exception itself when it survives
    pickling with its message, else its class, ``args`` and attributes (exceptions whose
    ``__init__`` takes other arguments than ``args``, e.g. ``ModelOutputError``), else its text."""
    try:
        if str(pickle.loads(pickle.dumps(exc))) == str(exc):
            return exc
    except Exception:
        pass
    try:
        carried = ("rebuild", type(exc), exc.args, dict(vars(exc)))
        pickle.dumps(carried)
        return carried
    except Exception:
        if isinstance(exc, EngineConfigError | ValueError):
            return EngineConfigError(str(exc))
        return EngineRuntimeError(f"{type(exc).__name__}: {exc}")


def restored(carried: Any) -> Exception:
    """The exception :func:`portable` carried (same class, arguments and attributes)."""
    if isinstance(carried, tuple) and carried and carried[0] == "rebuild":
        _, cls, args, state = carried
        exc = cls.__new__(cls)
        exc.args = args
        exc.__dict__.update(state)
        return exc
    return carried


# --------------------------------------------------------------------------------------------------
# Kernel SHAP
# --------------------------------------------------------------------------------------------------


def _shap_work(
    data, feature_columns, join_column, baseline, players, plan, use_logit, handle, headers, common_base
):
    read = _unit_table(data, [*feature_columns, *([join_column] if join_column else [])])

    def work(unit: Unit) -> dict:
        import numpy as np

        from airflow_provider_clarify.engine.explain.model_calls import ModelCaller, table_to_matrix
        from airflow_provider_clarify.engine.explain.synthetic import TabularRows, explain_group

        table = read(unit)
        records = table_to_matrix(table.select(feature_columns))
        caller = ModelCaller(handle.get(), label_headers=headers)
        rows = TabularRows(records, baseline, players)
        result, base = explain_group(
            np.arange(len(records)), plan, rows, caller, use_logit=use_logit, common_base=common_base
        )
        return {
            "common_base": base,
            "values": result.values,
            "base": np.asarray(result.base),
            "full": result.full,
            "outputs": caller.num_outputs,
            "model_headers": caller.model_headers,
            "join": table.column(join_column).to_pylist() if join_column else None,
        }

    return work


def _driver_caller(parts: Sequence[dict], headers: list | None):
    """A ModelCaller on the driver that knows the model's outputs (as the executors' callers did)."""
    from airflow_provider_clarify.engine.explain.model_calls import ExplanationModelError, ModelCaller

    caller = ModelCaller(None, label_headers=headers)
    for part in parts:
        if part.get("outputs") is None:
            continue
        if caller.num_outputs is None:
            caller.num_outputs, caller.model_headers = part["outputs"], part["model_headers"]
        elif part["outputs"] != caller.num_outputs:
            raise ExplanationModelError(
                f"The model returned {part['outputs']} scores per row after returning {caller.num_outputs} "
                "earlier; explanations need the same number of outputs for every row. Check "
                "predictor.probability (it selects the scores to explain)."
            )
    return caller


def _baseline(spark, data, config, schema, feature_columns, rows, baseline_table, settings):
    """The baseline exactly as one machine resolves it (only the clustering sample is fetched)."""
    import numpy as np
    import pyarrow as pa

    from airflow_provider_clarify.engine.explain.baseline import cluster_sample, resolve_baseline
    from airflow_provider_clarify.engine.explain.model_calls import is_numeric_type, table_to_matrix

    empty = schema.empty_table()
    like = np.empty(
        (0, len(feature_columns)), np.float64 if all(is_numeric_type(f.type) for f in schema) else object
    )
    inline = config.get("baseline")
    if baseline_table is not None or (isinstance(inline, list | dict | str) and inline):
        return resolve_baseline(empty, like, config, baseline_table, seed=settings.seed)
    total = sum(rows)
    if total == 0:
        return resolve_baseline(empty, like, config, None, seed=settings.seed)
    wanted = cluster_sample(total, settings.seed)
    order = np.argsort(wanted, kind="stable")
    starts = np.cumsum([0, *rows])
    units = []
    for index, segment in enumerate(data.segments):
        low, high = np.searchsorted(wanted[order], [starts[index], starts[index + 1]])
        if high > low:
            local = (wanted[order][low:high] - starts[index]).tolist()
            units.append((Unit(((segment, local[0], local[-1] + 1),), int(starts[index])), local))
    read = _unit_table(data, list(feature_columns))

    def work(item):
        unit, local = item
        return read(unit).take([i - local[0] for i in local])

    pieces = run_units(spark, units, work)
    by_position = pa.concat_tables(pieces)  # the sampled rows in dataset order
    rank = np.empty(len(wanted), dtype=np.int64)
    rank[order] = np.arange(len(wanted))
    sampled = by_position.take(rank)  # in the sample's order, as records[sample] on one machine
    return resolve_baseline(
        sampled, table_to_matrix(sampled), config, None, seed=settings.seed, presampled=True
    )


def spark_kernel_shap(
    spark, data, config, feature_columns, join_column, handle, headers, baseline_table, rows, schema
):
    """Kernel SHAP of every record: ``(ShapRun, join ids or None, driver caller)``.

    The units are whole model calls of one machine (:func:`.synthetic.records_per_call` records
    each, from the first record), so every call and every solve sees the rows it sees on one
    machine. With every feature explained, the baseline rows' mean output (the common base) comes
    from the first call, as on one machine: the first unit runs first and hands it to the others.
    """
    import numpy as np

    from airflow_provider_clarify.engine.explain.explainer import ShapRun, tabular_plan
    from airflow_provider_clarify.engine.explain.model_calls import ModelCaller
    from airflow_provider_clarify.engine.explain.synthetic import TabularRows, records_per_call

    settings = _settings(config, feature_columns)
    baseline = _baseline(spark, data, config, schema, feature_columns, rows, baseline_table, settings)
    plan = tabular_plan(settings)
    shape = TabularRows(
        np.empty((0, len(feature_columns)), baseline.matrix.dtype), baseline.matrix, settings.players
    )
    step = records_per_call(plan, shape, ModelCaller(None))
    units = plan_units(data, rows, _parallelism(spark), step)

    def work(common_base):
        return _shap_work(
            data,
            feature_columns,
            join_column,
            baseline.matrix,
            settings.players,
            plan,
            settings.use_logit,
            handle,
            headers,
            common_base,
        )

    if shape.shares_empty_coalition:
        parts = run_units(spark, units[:1], work(None))
        if len(units) > 1:
            parts += run_units(spark, units[1:], work(parts[0]["common_base"]))
    else:
        parts = run_units(spark, units, work(None))
    caller = _driver_caller(parts, headers)
    names = [feature_columns[j] for j in settings.players]
    run = ShapRun(
        output_keys=caller.output_keys(),
        feature_names=names,
        local=np.concatenate([p["values"] for p in parts]),
        base=np.concatenate([p["base"] for p in parts]),
        full=np.concatenate([p["full"] for p in parts]),
        baseline=baseline.matrix,
        baseline_computed=baseline.computed,
        agg_method=settings.agg_method,
        global_features=names,
    )
    join = [value for p in parts for value in p["join"]] if join_column else None
    return run, join, caller


def _settings(config: dict, feature_columns: Sequence[str]):
    from airflow_provider_clarify.engine.explain.explainer import ShapConfigError, shap_settings

    if not isinstance(config, dict):
        raise ShapConfigError(f"methods.shap is {config!r}; it must be an object.")
    if config.get("text_config"):
        raise SparkExplanationError(
            "methods.shap.text_config (text explanations) is not computed by the Spark backend: a text "
            "record's coalition plan depends on its number of words, drawn in dataset order from one "
            "random stream, so records cannot be explained apart. Run it with --backend local.",
            field="methods.shap.text_config",
            value=config.get("text_config"),
        )
    return shap_settings(list(feature_columns), config)


# --------------------------------------------------------------------------------------------------
# PDP
# --------------------------------------------------------------------------------------------------


def _column_floats(records: np.ndarray, column: int) -> np.ndarray:
    """A numeric column of the model-input matrix as floats (nulls NaN), as ``compute_pdp`` reads it."""
    import numpy as np

    if records.dtype != object:
        return records[:, column].astype(np.float64)
    return np.array([np.nan if v is None else float(v) for v in records[:, column]])


def _pdp_facts_work(data, feature_columns, kinds):
    """Per segment: per column, what its grid needs (numeric extremes, categorical counts, free text)."""
    read = _unit_table(data, list(feature_columns))

    def work(unit: Unit) -> dict:
        import numpy as np

        from airflow_provider_clarify.engine.explain.model_calls import table_to_matrix

        table = read(unit)
        records = table_to_matrix(table)
        facts: dict[int, dict] = {}
        for column, kind in kinds.items():
            if kind == "numerical":
                values = _column_floats(records, column)
                finite = values[~np.isnan(values)]
                facts[column] = {
                    "n": len(values),
                    "low": float(finite.min()) if len(finite) else None,
                    "high": float(finite.max()) if len(finite) else None,
                }
                continue
            counts: dict = {}
            for value in records[:, column].tolist():
                if value is not None:
                    counts[value] = counts.get(value, 0) + 1
            present = [v for v in table.column(column).to_pylist() if isinstance(v, str)]
            facts[column] = {
                "n": len(records),
                "counts": counts,
                "present": len(present),
                "multi": sum(1 for v in present if len(v.split()) > 1),
            }
        return facts

    return work


def _pdp_sums_work(data, feature_columns, jobs, buckets, handle, headers):
    read = _unit_table(data, list(feature_columns))

    def work(unit: Unit) -> dict:
        import numpy as np

        from airflow_provider_clarify.engine.explain.model_calls import ModelCaller, table_to_matrix
        from airflow_provider_clarify.engine.explain.pdp import bucket_counts, job_sums

        records = table_to_matrix(read(unit))
        caller = ModelCaller(handle.get(), label_headers=headers)
        counts = {}
        for column, (low, width, resolution) in buckets.items():
            values = _column_floats(records, column)
            counts[column] = bucket_counts(values[~np.isnan(values)], low, width, resolution)
        return {
            "sums": job_sums(records, jobs, caller),
            "counts": counts,
            "outputs": caller.num_outputs,
            "model_headers": caller.model_headers,
        }

    return work


def spark_pdp(spark, data, config, feature_columns, schema, importance, handle, headers, caller, units):
    """The ``explanations.pdp`` list (see the module docstring)."""
    import numpy as np

    from airflow_provider_clarify.engine.explain.pdp import (
        UNSUPPORTED_MESSAGE,
        checked_grid_resolution,
        data_type_of,
        finish_entries,
        grid_centres,
        pdp_features,
    )

    names = list(feature_columns)
    resolution = checked_grid_resolution(config)
    columns = pdp_features(names, config, importance)
    kinds = {}
    for column in columns:
        field = schema.field(column).type
        kind = data_type_of(field, False, lambda: True)
        if kind in ("numerical", "categorical", "free_text"):
            kinds[column] = "numerical" if kind == "numerical" else "strings"
    facts = run_units(spark, units, _pdp_facts_work(data, names, kinds)) if kinds else []

    entries: list[dict] = []
    jobs: list[tuple[int, int, object]] = []
    buckets: dict[int, tuple[float, float, int]] = {}
    totals: dict[int, int] = {}
    for column in columns:
        parts = [f[column] for f in facts] if column in kinds else []
        present = sum(p.get("present", 0) for p in parts)
        multi = sum(p.get("multi", 0) for p in parts)
        free_text = present > 0 and multi >= 0.5 * present
        data_type = data_type_of(schema.field(column).type, False, lambda free_text=free_text: free_text)
        entry: dict = {"feature_name": names[column], "data_type": data_type}
        total = sum(p["n"] for p in parts)
        if data_type == "numerical":
            lows = [p["low"] for p in parts if p["low"] is not None]
            if lows:
                low, high = min(lows), max(p["high"] for p in parts if p["high"] is not None)
                grid, width = grid_centres(low, high, resolution)
                buckets[column] = (low, width, resolution)
                totals[column] = total
            else:
                grid = []
            entry["_index"] = len(entries)
        elif data_type == "categorical":
            counts: dict = {}
            for part in parts:
                for value, count in part["counts"].items():
                    counts[value] = counts.get(value, 0) + count
            grid = list(counts)
            entry["data_distribution"] = [count / total for count in counts.values()]
        else:
            entry["error"] = UNSUPPORTED_MESSAGE
            entries.append(entry)
            continue
        entry["feature_values"] = grid
        jobs.extend((len(entries), column, value) for value in grid)
        entries.append(entry)

    results = (
        run_units(spark, units, _pdp_sums_work(data, names, jobs, buckets, handle, headers))
        if (jobs or buckets)
        else []
    )
    n = sum(unit.size for unit in units)
    means: list = []
    if jobs:
        sums = None
        for part in results:
            stacked = np.asarray(part["sums"])
            sums = stacked if sums is None else sums + stacked
        means = list(sums / n)
        if caller.num_outputs is None:
            known = _driver_caller(results, headers)
            caller.num_outputs, caller.model_headers = known.num_outputs, known.model_headers
    for entry in entries:
        if "_index" not in entry:
            continue
        entry.pop("_index")
        column = names.index(entry["feature_name"])
        if column in buckets:
            counts = sum(part["counts"][column] for part in results)
            share = (counts / totals[column]).tolist()
        else:
            share = []
        entry["data_distribution"] = share
    ordered = [
        {
            key: entry[key]
            for key in ("feature_name", "data_type", "error", "feature_values", "data_distribution")
            if key in entry
        }
        for entry in entries
    ]
    return finish_entries(ordered, jobs, means, caller)


# --------------------------------------------------------------------------------------------------
# The explanations block
# --------------------------------------------------------------------------------------------------


def spark_explanations(
    spark: SparkSession,
    data: SparkDataset,
    config: dict,
    *,
    feature_columns: list[str],
    join_column: str | None,
    model: Any,
    predictor: Any,
    recipe: dict,
    baseline_table: pa.Table | None,
    output: Any,
    local_values_sink: Any = None,
) -> dict:
    """``analysis.json``'s ``explanations`` block, with ``explanations_shap/`` written under ``output``."""
    from airflow_provider_clarify.engine.explain import shap_importance, write_shap_outputs

    methods = config["methods"]
    shap_config, pdp_config = methods.get("shap"), methods.get("pdp")
    headers = (
        (config.get("predictor") or {}).get("label_headers")
        if isinstance(config.get("predictor"), dict)
        else None
    )
    if shap_config is not None:  # bad options fail before any Spark job
        _settings(shap_config, feature_columns)
    if pdp_config is not None:
        from airflow_provider_clarify.engine.explain.pdp import checked_grid_resolution, pdp_features

        checked_grid_resolution(pdp_config)
        if shap_config is None:
            pdp_features(list(feature_columns), pdp_config, None)
    rows, schema = segment_rows(data, list(feature_columns))
    parallelism = _parallelism(spark)
    units = plan_units(data, rows, parallelism, max(1, math.ceil(sum(rows) / (parallelism * UNITS_PER_CORE))))
    handle = ship_predictor(spark, model, predictor, recipe)
    result: dict = {}
    importance = None
    caller = None
    if shap_config is not None:
        run, join, caller = spark_kernel_shap(
            spark,
            data,
            shap_config,
            feature_columns,
            join_column,
            handle,
            headers,
            baseline_table,
            rows,
            schema,
        )
        result["kernel_shap"] = run.kernel_shap_block()
        importance = shap_importance(run)
        if output is not None:
            import pyarrow as pa

            join_ids = pa.table({join_column: join}) if join_column else None
            write_shap_outputs(
                run,
                shap_config,
                output,
                join_ids=join_ids,
                join_column=join_column,
                local_values_sink=local_values_sink,
            )
    if pdp_config is not None:
        if caller is None:
            caller = _driver_caller([], headers)
        result["pdp"] = spark_pdp(
            spark, data, pdp_config, feature_columns, schema, importance, handle, headers, caller, units
        )
    return result


@dataclass
class SparkExplainer:
    """SHAP and PDP of one Spark run: the model and baseline checked before any Spark job (as one
    machine builds its predictor before reading the rows), the explanations computed afterwards."""

    config: dict
    data: Any
    feature_columns: list[str]
    join_column: str | None
    model: Any
    predictor: Any
    recipe: dict
    baseline_table: Any

    @classmethod
    def prepare(
        cls,
        config: dict,
        data: SparkDataset,
        *,
        feature_columns: list[str],
        join_column: str | None,
        model: Any = None,
        storage_options: dict | None = None,
        endpoint_url: str | None = None,
    ) -> SparkExplainer:
        from airflow_provider_clarify.engine import datasets, runner

        recipe = {
            "model": model,
            "config": config,
            "feature_names": list(feature_columns),
            "storage_options": storage_options,
            "endpoint_url": endpoint_url,
        }
        predictor = runner.build_predictor(**recipe)
        shap = config["methods"].get("shap")
        baseline_table = None
        if isinstance(shap, dict) and isinstance(shap.get("baseline"), str):
            baseline_table = datasets.load_baseline(
                shap["baseline"],
                str(config["dataset_type"]).lower(),
                list(feature_columns),
                features=config.get("features"),
                storage_options=storage_options,
            )
        return cls(config, data, list(feature_columns), join_column, model, predictor, recipe, baseline_table)

    def explanations(self, output: Any, local_values_sink: Any = None) -> dict:
        """The ``explanations`` block (``explanations_shap/`` written under ``output``)."""
        return spark_explanations(
            self.data.frame.sparkSession,
            self.data,
            self.config,
            feature_columns=self.feature_columns,
            join_column=self.join_column,
            model=self.model,
            predictor=self.predictor,
            recipe=self.recipe,
            baseline_table=self.baseline_table,
            output=output,
            local_values_sink=local_values_sink,
        )


__all__ = ["SparkExplainer", "SparkExplanationError", "spark_explanations"]
