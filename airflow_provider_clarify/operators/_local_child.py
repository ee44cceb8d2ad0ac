"""Child-process entry point of ``compute="local"``: run the open engine on one analysis config.

:func:`airflow_provider_clarify.operators.local_compute.run_local_analysis` starts this module as
``python -m airflow_provider_clarify.operators._local_child`` and writes one JSON *run spec* to its
standard input. Running the engine in its own interpreter means a crash, a segfault in a native
library or the out-of-memory killer ends this process only; the Airflow worker survives and reports
what happened.

This module deliberately imports nothing from Airflow (importing Airflow costs seconds and memory
the analysis needs) and imports the numeric libraries only inside :func:`main`, after the memory
limit is in place.

Run spec (all keys optional unless stated)::

    {
      "analysis_config": {...},            # required: the analysis_config dict
      "dataset": "s3://... | file://... | /path",
      "output": "s3://... | file://... | /path",   # required
      "storage_options": {"endpoint_url", "aws_access_key_id", "aws_secret_access_key",
                          "aws_session_token", "region_name"},
      "model": ModelSource.to_spec(),      # analysis/model_source.py; an artifact as a local path
      "model_endpoint_url": "http://...",  # sagemaker-runtime endpoint of the AWS connection
      "output_kms_key": "arn:aws:kms:...", # SSE-KMS for every object written to an s3:// output
      "memory_limit_bytes": 2147483648,
      "schema_checked": true,              # the parent validated analysis_config (no jsonschema here)
      "confidence_intervals": {"level", "resamples", "seed"},   # ConfidenceIntervalConfig.to_dict()
      "intersections": {...},              # IntersectionConfig.to_dict()
      "result_file": "/tmp/.../result.json"  # required: where the outcome is written
    }

or, for one Model Monitor execution (``run_local_engine("monitor", ...)``), ``{"kind": "monitor",
"monitor": {run_monitoring_execution's keyword arguments}, "storage_options": ..., ...}``; its
result file then holds ``{"ok": true, "result": MonitoringExecutionResult.to_dict()}``.

Credentials arrive on standard input only, never on the command line (which other users of the
machine can read in the process table) and never in a file.

SIGTERM (the parent stopping a run that timed out or whose task was killed) ends the run at once:
the handler raises :class:`Terminated` in the engine, whose atomic writes remove their temporary
files on the way out, so no half-written output is left; the child then exits with status
``128 + SIGTERM``. The handler is installed explicitly because a worker that ignores SIGTERM
would otherwise pass that disposition on to the child.
"""

from __future__ import annotations

import json
import logging
import os
import sys
import time
import traceback
from typing import Any

log = logging.getLogger("airflow_provider_clarify.local")

#: Exit status for an error the child caught and described in the result file.
EXIT_ANALYSIS_FAILED = 1
#: Exit status when the run spec itself could not be read.
EXIT_BAD_SPEC = 2


def _apply_memory_limit(limit_bytes: int | None) -> None:
    """Cap the address space of this process so a runaway analysis fails with ``MemoryError``.

    ``RLIMIT_AS`` counts virtual memory, which is larger than resident memory (numeric libraries
    reserve address space up front), so limits well below ~1 GiB make the imports themselves fail.
    """
    if not limit_bytes:
        return
    import resource

    _, hard = resource.getrlimit(resource.RLIMIT_AS)
    if hard != resource.RLIM_INFINITY:
        limit_bytes = min(limit_bytes, hard)
    resource.setrlimit(resource.RLIMIT_AS, (limit_bytes, hard))


def _die_with_parent(parent_pid: int | None) -> None:
    """Ask Linux to SIGKILL this process when the worker that started it dies (even by SIGKILL).

    Without it an engine whose task process was killed would run on, orphaned, using the memory
    and CPU the next task needs. Elsewhere (macOS) this is a no-op; the parent still stops the
    child on timeouts and on the task being killed.
    """
    if not sys.platform.startswith("linux"):
        return
    import ctypes
    import signal

    try:
        libc = ctypes.CDLL(None, use_errno=True)
        pr_set_pdeathsig = 1
        libc.prctl(pr_set_pdeathsig, signal.SIGKILL)
    except (OSError, AttributeError):
        return
    if parent_pid and os.getppid() != parent_pid:  # the parent died before prctl took effect
        os._exit(EXIT_BAD_SPEC)


class Terminated(BaseException):
    """Raised in the engine by SIGTERM: unwinds every ``with`` block (temporary files are removed)."""


#: Exit status after SIGTERM, as a shell reports a process ended by it.
EXIT_TERMINATED = 128 + 15


def _install_sigterm_handler() -> None:
    import signal

    def terminate(signum: int, frame: Any) -> None:
        signal.signal(signal.SIGTERM, signal.SIG_DFL)  # a second SIGTERM ends the process at once
        raise Terminated(f"stopped by signal {signum}")

    signal.signal(signal.SIGTERM, terminate)


def _config_error_details(exc: BaseException) -> dict[str, Any]:
    """Whether ``exc`` will fail the same way again (the parent then fails without retries).

    Decided by the engine's error hierarchy: every :class:`ClarifyConfigError` (the engine's
    ``EngineConfigError`` is one) is a configuration or data error; so is a missing library of the
    ``engine`` extra.
    """
    from airflow_provider_clarify.analysis.errors import ClarifyConfigError
    from airflow_provider_clarify.engine._extra import engine_module_of, not_installed_error

    if isinstance(exc, ClarifyConfigError):
        return {"config_error": True, "field": exc.field}
    package = engine_module_of(exc)
    if package is not None:
        return {"config_error": True, "field": "compute", "message": str(not_installed_error([package]))}
    return {"config_error": False}


def _write_result(path: str, payload: dict[str, Any]) -> None:
    with open(path, "w", encoding="utf-8") as handle:
        json.dump(payload, handle)


def engine_arguments(spec: dict) -> dict[str, Any]:
    """Keyword arguments of ``run_analysis`` for the run spec."""
    from airflow_provider_clarify.analysis.model_source import ModelSource

    arguments: dict[str, Any] = {
        "analysis_config": spec["analysis_config"],
        "dataset": spec.get("dataset"),
        "output": spec["output"],
        "storage_options": spec.get("storage_options") or None,
        "output_kms_key": spec.get("output_kms_key") or None,
        "schema_checked": bool(spec.get("schema_checked")),
    }
    for option in ("confidence_intervals", "intersections"):
        if spec.get(option):
            arguments[option] = spec[option]
    if spec.get("model"):
        model = ModelSource.from_spec(spec["model"])
        if model.kind == "artifact":  # loaded first: a broken model fails before any data is read
            from airflow_provider_clarify.engine.predictors import artifact_predictor

            log.info("Loading %s model artifact %s (trusted by the DAG author)", model.format, model.artifact)
            predictor_block = spec["analysis_config"].get("predictor")
            arguments["model"] = artifact_predictor(
                model, predictor_block if isinstance(predictor_block, dict) else None
            )
        else:
            arguments["model"] = model
        if model.kind == "endpoint" and spec.get("model_endpoint_url"):
            arguments["endpoint_url"] = spec["model_endpoint_url"]
    return arguments


def _mark_pandas_unavailable(spec: dict) -> bool:
    """Keep pandas out of a run that executes no model code; ``True`` when it was kept out
    (:mod:`airflow_provider_clarify.engine.pandas_free`). An artifact's code may use pandas."""
    from airflow_provider_clarify.engine.pandas_free import keep_pandas_out

    model = spec.get("model") or {}
    return keep_pandas_out(model.get("kind") if isinstance(model, dict) else None)


def run(spec: dict) -> str:
    """Run one analysis as described by ``spec``; returns the URI of the written ``analysis.json``."""
    from airflow_provider_clarify.engine import run_analysis

    return run_analysis(**engine_arguments(spec))


def run_monitor(spec: dict) -> dict[str, Any]:
    """Run one Model Monitor execution (run spec ``{"kind": "monitor", "monitor": {...}}``, the
    keyword arguments of ``run_monitoring_execution``); returns its result as a dict."""
    from airflow_provider_clarify.engine.monitoring import run_monitoring_execution

    arguments = dict(spec["monitor"])
    arguments["storage_options"] = spec.get("storage_options") or None
    return run_monitoring_execution(**arguments).to_dict()


def _run_kind(spec: dict) -> dict[str, Any]:
    """The success payload of the spec's ``kind`` (``"analysis"``, the default, or ``"monitor"``)."""
    if spec.get("kind") == "monitor":
        return {"ok": True, "result": run_monitor(spec)}
    return {"ok": True, "analysis_json_uri": run(spec)}


def main() -> int:
    logging.basicConfig(
        stream=sys.stderr, level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s"
    )
    try:
        spec = json.load(sys.stdin)
        result_file = spec["result_file"]
    except Exception as exc:  # the parent wrote it, so this is a bug; say so plainly
        print(f"local engine: could not read the run spec from stdin: {exc!r}", file=sys.stderr)
        return EXIT_BAD_SPEC
    _die_with_parent(spec.get("parent_pid"))
    _install_sigterm_handler()
    try:
        _apply_memory_limit(spec.get("memory_limit_bytes"))
        if spec.get("kind", "analysis") == "analysis":  # the monitoring reader may use pandas
            _mark_pandas_unavailable(spec)
        started = time.perf_counter()
        outcome = _run_kind(spec)
        outcome["engine_seconds"] = time.perf_counter() - started
    except Terminated:
        log.warning("Stopped by SIGTERM; partial output removed.")
        _write_result(result_file, {"ok": False, "terminated": True, "error_type": "Terminated"})
        sys.stdout.flush()
        sys.stderr.flush()
        # Exit now: model requests still in flight on worker threads would otherwise be awaited.
        os._exit(EXIT_TERMINATED)
    except BaseException as exc:
        traceback.print_exc(file=sys.stderr)
        _write_result(
            result_file,
            {
                "ok": False,
                "error_type": type(exc).__name__,
                "error_module": type(exc).__module__,
                "message": str(exc) or repr(exc),
                "out_of_memory": isinstance(exc, MemoryError),  # DatasetMemoryError included
                **_config_error_details(exc),  # may replace the message (missing engine extra)
            },
        )
        return EXIT_ANALYSIS_FAILED
    # What the run imported, for tests and benchmarks that check a run loads only what it needs.
    outcome["modules"] = sorted({name.split(".")[0] for name, module in sys.modules.items() if module})
    _write_result(result_file, outcome)
    return 0


if __name__ == "__main__":
    sys.exit(main())
