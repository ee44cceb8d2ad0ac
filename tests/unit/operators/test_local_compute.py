"""``run_local_analysis``: the open engine in a child process, on local paths, file:// and S3 (moto).

Crash tests use model artifacts whose *loading* does the damage (a pickle runs code when loaded,
which is exactly why ``local_model`` demands ``trust=True``): the child dies by a signal, runs out
of its memory limit or hangs, and the test process - standing in for the Airflow worker - carries
on and gets a clear ``LocalAnalysisError``.
"""

from __future__ import annotations

import ctypes
import json
import math
import os
import pickle
import signal
import subprocess
import sys
import threading
import time
from dataclasses import dataclass, field

import boto3
import pytest

from airflow_provider_clarify.analysis.errors import ClarifyConfigError
from airflow_provider_clarify.analysis.model_source import ModelSource
from airflow_provider_clarify.operators.local_compute import (
    LocalAnalysisConfigError,
    LocalAnalysisError,
    LocalRunOutcome,
    resolve_local_model,
    run_local_analysis,
)
from tests.support.aws import REGION
from tests.support.model_server import ModelServer
from tests.support.paths import GOLDEN_DIR, REPO_ROOT

GOLDEN_CSV = GOLDEN_DIR / "synthetic_credit.csv"
HEADERS = ["sex", "age", "job", "housing", "credit_amount", "duration", "approved", "score", "predicted"]


def golden_case(name: str) -> dict:
    cases = json.loads((GOLDEN_DIR / "smclarify_golden.json").read_text())
    return next(case for case in cases if case["name"] == name)


def bias_config(**methods) -> dict:
    """The golden ``sex_female`` configuration (facet sex=female, label approved=1, group housing)."""
    config = dict(golden_case("sex_female")["analysis_config"])
    config["methods"] = methods or {"pre_training_bias": {"methods": "all"}}
    return config


def model_config() -> dict:
    """Post-training bias with predictions from a model (no predicted-label column)."""
    config = bias_config(post_training_bias={"methods": ["DPPL", "DI"]})
    del config["predicted_label"]
    config["headers"] = HEADERS[:7]
    config["predictor"] = {
        "model_name": "credit-model",
        "instance_type": "ml.m5.xlarge",
        "initial_instance_count": 1,
    }
    return config


def metric_values(section: dict) -> dict[tuple[str, str, str], float | None]:
    return {
        (facet, group["value_or_threshold"], metric["name"]): metric.get("value")
        for facet, groups in section["facets"].items()
        for group in groups
        for metric in group["metrics"]
    }


class _RunsOnLoad:
    """Pickles to ``fn(*args)``: whoever unpickles the file runs it."""

    def __init__(self, fn, *args):
        self.fn, self.args = fn, args

    def __reduce__(self):
        return self.fn, self.args


def hostile_artifact(tmp_path, fn, *args) -> dict:
    path = tmp_path / "model.pkl"
    path.write_bytes(pickle.dumps(_RunsOnLoad(fn, *args)))
    return {"artifact": str(path), "format": "pickle", "trust": True}


# --- results ------------------------------------------------------------------------------------------


def test_local_path_matches_golden_and_s3_and_file_uri_give_the_same_metrics(
    tmp_path, s3_bucket, moto_endpoint
):
    post_methods = ["DPPL", "DI", "AD", "TE"]  # cheap ones: this test is about storage, not metrics
    config = bias_config(pre_training_bias={"methods": "all"}, post_training_bias={"methods": post_methods})
    s3 = boto3.client("s3", endpoint_url=moto_endpoint, region_name=REGION)
    s3.upload_file(str(GOLDEN_CSV), s3_bucket, "input/credit.csv")

    local = run_local_analysis(
        config, str(GOLDEN_CSV), str(tmp_path / "local"), run_name="clarify-local-test"
    )
    file_uri = run_local_analysis(
        config, GOLDEN_CSV.as_uri(), (tmp_path / "file").as_uri(), run_name="file", aws_conn_id=None
    )
    remote = run_local_analysis(
        config,
        f"s3://{s3_bucket}/input/credit.csv",
        f"s3://{s3_bucket}/audit/run-1",
        aws_conn_id="aws_default",
        run_name="s3",
    )

    # Local path: the outcome, the config next to the output, golden pre-training values.
    assert isinstance(local, LocalRunOutcome)
    assert local.analysis_result_uri == str(tmp_path / "local")
    assert local.job_name == "clarify-local-test"
    assert local.analysis_config_uri == str(tmp_path / "local" / "analysis_config.json")
    assert local.analysis_json_uri.endswith("analysis.json")
    assert json.loads((tmp_path / "local" / "analysis_config.json").read_text()) == config
    assert not [p.name for p in (tmp_path / "local").iterdir() if p.name.startswith(".")], "temp files left"
    from_disk = json.loads((tmp_path / "local" / "analysis.json").read_text())
    got = metric_values(from_disk["pre_training_bias_metrics"])
    want = metric_values(golden_case("sex_female")["pre_training_bias_metrics"])
    assert got.keys() == want.keys()
    for key, value in want.items():
        assert got[key] == pytest.approx(value, rel=1e-9), key

    # S3 through the connection (moto's endpoint_url) and file:// URIs: same files, same numbers.
    assert remote.analysis_result_uri == f"s3://{s3_bucket}/audit/run-1"
    assert remote.analysis_config_uri == f"s3://{s3_bucket}/audit/run-1/analysis_config.json"
    stored_config = s3.get_object(Bucket=s3_bucket, Key="audit/run-1/analysis_config.json")["Body"].read()
    assert json.loads(stored_config) == config
    from_s3 = json.loads(s3.get_object(Bucket=s3_bucket, Key="audit/run-1/analysis.json")["Body"].read())
    from_file_uri = json.loads((tmp_path / "file" / "analysis.json").read_text())
    assert file_uri.analysis_result_uri == (tmp_path / "file").as_uri()
    for stage in ("pre_training_bias_metrics", "post_training_bias_metrics"):
        disk = metric_values(from_disk[stage])
        assert len(disk) >= 4
        for other in (from_s3, from_file_uri):
            values = metric_values(other[stage])
            assert values.keys() == disk.keys()
            for key, value in disk.items():
                assert (values[key] == value) or (
                    isinstance(value, float) and math.isnan(value) and math.isnan(values[key])
                ), key


def test_artifact_and_http_model_equal_a_precomputed_label_column(tmp_path, s3_bucket, moto_endpoint):
    """A joblib model (in-process in the child) and the same model over HTTP give the metrics of its predictions."""
    import joblib
    import numpy as np
    from sklearn.linear_model import LogisticRegression

    rows = [line.split(",") for line in GOLDEN_CSV.read_text().splitlines()[1:]]
    numeric = np.array([[float(r[1]), float(r[4]), float(r[5])] for r in rows])
    labels = np.array([int(r[6]) for r in rows])
    model = LogisticRegression(max_iter=500).fit(numeric, labels)
    joblib.dump(model, tmp_path / "model.joblib")  # an upstream task's artifact, on S3
    s3 = boto3.client("s3", endpoint_url=moto_endpoint, region_name=REGION)
    s3.upload_file(str(tmp_path / "model.joblib"), s3_bucket, "models/model.joblib")
    predicted = (model.predict_proba(numeric)[:, 1] > 0.5).astype(int)

    headers = ["sex", "age", "credit_amount", "duration", "approved"]
    lines = [",".join(headers)] + [f"{r[0]},{r[1]},{r[4]},{r[5]},{r[6]}" for r in rows]
    (tmp_path / "features.csv").write_text("\n".join(lines) + "\n")
    lines = [",".join([*headers, "predicted"])] + [
        f"{r[0]},{r[1]},{r[4]},{r[5]},{r[6]},{p}" for r, p in zip(rows, predicted)
    ]
    (tmp_path / "predicted.csv").write_text("\n".join(lines) + "\n")
    methods = ["DPPL", "DI", "DCA", "DCR", "RD", "DAR", "DRR", "AD", "TE"]
    common = {
        "dataset_type": "text/csv",
        "label": "approved",
        "label_values_or_threshold": [1],
        "facet": [{"name_or_index": "sex", "value_or_threshold": ["female"]}],
        "methods": {"post_training_bias": {"methods": methods}},
    }
    # The model was trained on the numeric columns only; the dataset also has "sex", so exclude it
    # from what the model sees, as a real audit would.
    with_model = {
        **common,
        "headers": headers,
        "excluded_columns": ["sex"],
        "probability_threshold": 0.5,
        "predictor": {"model_name": "m", "instance_type": "ml.m5.xlarge", "initial_instance_count": 1},
    }
    with_column = {**common, "headers": [*headers, "predicted"], "predicted_label": "predicted"}

    run_local_analysis(
        with_model,
        str(tmp_path / "features.csv"),
        str(tmp_path / "model-out"),
        local_model={"artifact": f"s3://{s3_bucket}/models/model.joblib", "format": "joblib", "trust": True},
    )
    run_local_analysis(with_column, str(tmp_path / "predicted.csv"), str(tmp_path / "column-out"))
    with ModelServer(lambda x: model.predict_proba(x.astype(float))[:, 1]) as server:
        run_local_analysis(
            with_model, str(tmp_path / "features.csv"), str(tmp_path / "http-out"), local_model=server.url
        )
        assert server.records == len(rows)

    def post_training(folder: str) -> dict:
        analysis = json.loads((tmp_path / folder / "analysis.json").read_text())
        return metric_values(analysis["post_training_bias_metrics"])

    want = post_training("column-out")
    assert set(name for *_, name in want) == set(methods)
    assert post_training("model-out") == pytest.approx(want, rel=1e-12)
    assert post_training("http-out") == pytest.approx(want, rel=1e-12)


# --- failures -----------------------------------------------------------------------------------------


#: Libraries that only some methods need (k-NN for FT, clustering for SHAP baselines); pandas is
#: imported by pyarrow unless the child keeps it out (operators/_local_child.py); the worker validates
#: the config, so the child needs no jsonschema.
NOT_NEEDED_WITHOUT_MODEL = {"sklearn", "scipy", "kmodes", "pandas", "joblib", "jsonschema"}


def test_a_run_without_a_model_imports_no_library_its_methods_do_not_need(tmp_path):
    config = bias_config(
        pre_training_bias={"methods": "all"}, post_training_bias={"methods": ["DPPL", "DI", "AD"]}
    )
    outcome = run_local_analysis(config, str(GOLDEN_CSV), str(tmp_path / "out"), aws_conn_id=None)

    assert {"numpy", "pyarrow", "airflow_provider_clarify"} <= set(outcome.imported_modules)
    assert not NOT_NEEDED_WITHOUT_MODEL & set(outcome.imported_modules)
    assert isinstance(outcome.engine_seconds, float)  # reported by the child
    assert outcome.engine_seconds
    # The same values as with pandas and every library loaded (the golden file is smclarify's).
    got = metric_values(
        json.loads((tmp_path / "out" / "analysis.json").read_text())["pre_training_bias_metrics"]
    )
    for key, value in metric_values(golden_case("sex_female")["pre_training_bias_metrics"]).items():
        assert got[key] == pytest.approx(value, rel=1e-9), key


def test_the_flip_test_loads_scikit_learn_in_the_child(tmp_path):
    """The other side of the lazy imports: FT's k-NN does load scikit-learn when it is asked for."""
    config = bias_config(post_training_bias={"methods": ["FT"]})
    outcome = run_local_analysis(config, str(GOLDEN_CSV), str(tmp_path / "out"), aws_conn_id=None)

    assert "sklearn" in outcome.imported_modules
    section = json.loads((tmp_path / "out" / "analysis.json").read_text())["post_training_bias_metrics"]
    assert [m["name"] for m in section["facets"]["sex"][0]["metrics"]] == ["FT"]


def test_engine_error_fails_with_its_message_and_writes_no_result(tmp_path):
    config = bias_config()
    config["label"] = "no_such_column"

    with pytest.raises(LocalAnalysisConfigError) as caught:
        run_local_analysis(config, str(GOLDEN_CSV), str(tmp_path / "out"), run_name="broken-run")

    # A configuration error: the operators catch ClarifyConfigError and fail without retries.
    assert isinstance(caught.value, ClarifyConfigError)
    assert isinstance(caught.value, LocalAnalysisError)
    message = str(caught.value)
    assert "broken-run failed" in message
    assert "no_such_column" in message
    assert caught.value.exit_code == 1
    assert "Traceback" in caught.value.stderr_tail
    assert not (tmp_path / "out" / "analysis.json").exists()
    assert not (tmp_path / "out" / "analysis_config.json").exists()  # only a successful run writes it


def test_a_failed_run_leaves_the_config_of_the_results_beside_them(tmp_path):
    """A rerun with a changed config that fails must not leave its config beside the earlier results."""
    out = tmp_path / "out"
    first = bias_config()
    run_local_analysis(first, str(GOLDEN_CSV), str(out), aws_conn_id=None)
    results = (out / "analysis.json").read_bytes()
    assert json.loads((out / "analysis_config.json").read_text()) == first

    changed = bias_config()
    changed["label"] = "no_such_column"
    with pytest.raises(LocalAnalysisConfigError):
        run_local_analysis(changed, str(GOLDEN_CSV), str(out), aws_conn_id=None)
    assert (out / "analysis.json").read_bytes() == results
    assert json.loads((out / "analysis_config.json").read_text()) == first


def test_other_engine_exceptions_are_retryable_local_analysis_errors(tmp_path):
    model = hostile_artifact(tmp_path, int, "not a number")  # raises ValueError while loading

    with pytest.raises(LocalAnalysisError) as caught:
        run_local_analysis(model_config(), str(GOLDEN_CSV), str(tmp_path / "out"), local_model=model)

    assert not isinstance(caught.value, ClarifyConfigError)
    assert "ValueError: invalid literal for int()" in str(caught.value)
    assert caught.value.exit_code == 1


def test_child_killed_by_sigkill_reports_signal_and_memory_hint(tmp_path):
    """What the kernel's OOM killer does: SIGKILL. The worker (this process) survives."""
    model = hostile_artifact(tmp_path, signal.raise_signal, signal.SIGKILL)

    with pytest.raises(LocalAnalysisError) as caught:
        run_local_analysis(
            model_config(), str(GOLDEN_CSV), str(tmp_path / "out"), local_model=model, run_name="oom"
        )

    assert caught.value.exit_code == -signal.SIGKILL
    assert "killed by SIGKILL" in str(caught.value)
    assert "out-of-memory" in str(caught.value)
    assert not (tmp_path / "out" / "analysis.json").exists()


def test_native_crash_in_the_child_is_reported(tmp_path):
    model = hostile_artifact(tmp_path, ctypes.string_at, 0)  # reads address 0: a segmentation fault

    with pytest.raises(LocalAnalysisError) as caught:
        run_local_analysis(model_config(), str(GOLDEN_CSV), str(tmp_path / "out"), local_model=model)

    assert caught.value.exit_code == -signal.SIGSEGV
    assert "killed by SIGSEGV" in str(caught.value)


def test_memory_limit_turns_a_huge_allocation_into_memory_error(tmp_path):
    model = hostile_artifact(tmp_path, bytearray, 8 * 1024**3)  # 8 GiB, above the 1 GiB cap

    with pytest.raises(LocalAnalysisError) as caught:
        run_local_analysis(
            model_config(), str(GOLDEN_CSV), str(tmp_path / "out"), local_model=model, memory_limit_mb=1024
        )

    assert "MemoryError" in str(caught.value)
    assert "ran out of memory" in str(caught.value)
    assert caught.value.exit_code == 1


def test_timeout_stops_the_child(tmp_path):
    model = hostile_artifact(tmp_path, time.sleep, 120)

    with pytest.raises(LocalAnalysisError) as caught:
        run_local_analysis(
            model_config(), str(GOLDEN_CSV), str(tmp_path / "out"), local_model=model, timeout_seconds=3
        )

    assert "did not finish within 3 s" in str(caught.value)
    # Reaped, and by its own SIGTERM handler (status 128 + 15), not left running or SIGKILLed.
    assert caught.value.exit_code == 128 + signal.SIGTERM


# --- local_model and locations ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("local_model", "field"),
    [
        ({"artifact": "/models/m.joblib", "format": "joblib"}, "local_model.trust"),
        ({"artifact": "/models/m.joblib", "format": "joblib", "trust": "yes"}, "local_model.trust"),
        ({"artifact": "/models/m.onnx", "format": "onnx", "trust": True}, "local_model.format"),
        ({"artifact": "/m.pkl", "trust": True, "method": "decision_function"}, "local_model.method"),
        ({"artifact": "gs://bucket/m.pkl", "trust": True}, "local_model.artifact"),
        ({"url": "http://a", "endpoint_name": "b"}, "local_model"),
        ({"url": "http://a", "timeout": 3}, "local_model.timeout"),
        ({"url": "http://a", "timeout_seconds": 0}, "local_model.timeout_seconds"),
        ({"url": "http://a", "retries": -1}, "local_model.retries"),
        ({"artifact": "/m.pkl", "trust": True, "retries": 1}, "local_model.retries"),
        ("ftp://models/m", "local_model.url"),
        (42, "local_model"),
    ],
)
def test_bad_local_model_is_rejected_with_the_field(local_model, field):
    with pytest.raises(ClarifyConfigError) as caught:
        resolve_local_model(local_model, model_config())
    assert caught.value.field == field


def test_trust_message_says_loading_runs_code():
    with pytest.raises(ClarifyConfigError, match="runs Python code"):
        resolve_local_model({"artifact": "/m.joblib"}, model_config())


def test_model_needed_but_missing_names_local_model():
    with pytest.raises(ClarifyConfigError) as caught:
        resolve_local_model(None, model_config())
    assert caught.value.field == "local_model"
    assert "shadow endpoints" in str(caught.value)


def test_unknown_key_suggests_the_right_one():
    with pytest.raises(ClarifyConfigError, match="Did you mean 'timeout_seconds'") as caught:
        resolve_local_model({"url": "http://a", "timeout": 3}, model_config())
    assert caught.value.field == "local_model.timeout"


def test_model_sources():
    assert resolve_local_model(None, bias_config()) is None  # pre-training: no model
    config = model_config()
    config["predictor"] = {"endpoint_name": "credit-endpoint"}
    assert resolve_local_model(None, config) == ModelSource.endpoint("credit-endpoint")
    assert resolve_local_model({"endpoint_name": "other"}, config).endpoint_name == "other"
    assert resolve_local_model("http://127.0.0.1:8080/", config) == ModelSource.http("http://127.0.0.1:8080")
    artifact = resolve_local_model({"artifact": "s3://b/m.joblib", "trust": True}, config)
    assert (artifact.kind, artifact.artifact, artifact.format, artifact.method) == (
        "artifact",
        "s3://b/m.joblib",
        "joblib",
        "auto",
    )
    tuned = resolve_local_model({"url": "http://h:1", "timeout_seconds": 5, "retries": 0}, config)
    assert ModelSource.from_spec(json.loads(json.dumps(tuned.to_spec()))) == tuned  # what the child gets


def test_an_in_process_model_cannot_cross_to_the_child():
    with pytest.raises(ClarifyConfigError, match="joblib.dump") as caught:
        resolve_local_model(lambda x: x, model_config())
    assert caught.value.field == "local_model"


@pytest.mark.parametrize(
    ("dataset", "output"), [("gs://b/data.csv", "/tmp/out"), ("/tmp/d.csv", ""), (None, "/out")]
)
def test_bad_locations_fail_before_anything_runs(tmp_path, dataset, output):
    with pytest.raises(ClarifyConfigError):
        run_local_analysis(bias_config(), dataset, output)


# --- engine extra, retries, signals, time-outs, KMS, confinement -------------------------------------------

#: Makes pyarrow and numpy unimportable in a fresh interpreter, as when the ``engine`` extra is missing.
HIDE_ENGINE = """
import sys
class _HideEngine:
    def find_spec(self, name, path=None, target=None):
        if name.split(".")[0] in {"pyarrow", "numpy"}:
            raise ModuleNotFoundError(f"No module named {name!r}", name=name)
        return None
sys.meta_path.insert(0, _HideEngine())
"""


def _python(code: str, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-c", code, *args],
        capture_output=True,
        text=True,
        cwd=REPO_ROOT,
        env={**os.environ, "PYTHONPATH": str(REPO_ROOT)},
        timeout=300,
    )


def test_missing_engine_extra_is_a_config_error_before_the_child_starts(tmp_path):
    out = tmp_path / "out"
    code = (
        HIDE_ENGINE
        + f"""
from airflow_provider_clarify.analysis.errors import ClarifyConfigError
from airflow_provider_clarify.operators.local_compute import run_local_analysis
try:
    run_local_analysis({bias_config()!r}, {str(GOLDEN_CSV)!r}, {str(out)!r}, aws_conn_id=None)
except ClarifyConfigError as exc:
    print("field=" + str(exc.field))
    print(exc)
else:
    print("no error")
"""
    )
    result = _python(code)
    assert result.returncode == 0, result.stderr
    assert "field=compute" in result.stdout
    assert "numpy, pyarrow" in result.stdout
    assert 'pip install "airflow-provider-clarify[engine]"' in result.stdout
    assert 'pip install -e ".[engine]"' in result.stdout
    assert not out.exists()  # nothing written, no child started


def test_cli_without_the_engine_extra_prints_one_error_line(tmp_path):
    config = tmp_path / "analysis_config.json"
    config.write_text(json.dumps(bias_config()))
    code = (
        HIDE_ENGINE + "import runpy; runpy.run_module('airflow_provider_clarify.engine', run_name='__main__')"
    )
    result = _python(
        code, "--analysis-config", str(config), "--dataset", str(GOLDEN_CSV), "--output", str(tmp_path / "o")
    )
    assert result.returncode == 2
    assert "Traceback" not in result.stderr
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert len(lines) == 1
    assert lines[0].startswith("error: ")
    assert "[engine]" in lines[0]


def _features_model_config() -> dict:
    """Post-training bias with the golden file's own header; the model sees everything but 'predicted'."""
    config = bias_config(post_training_bias={"methods": ["DPPL", "DI"]})
    del config["predicted_label"]
    config["excluded_columns"] = ["predicted"]
    return config


def test_a_library_of_the_engine_extra_missing_in_the_child_is_not_retried(tmp_path):
    broken = "raise ModuleNotFoundError(\"No module named 'pyarrow'\", name='pyarrow')"
    model = hostile_artifact(tmp_path, exec, broken)

    with pytest.raises(LocalAnalysisConfigError) as caught:
        run_local_analysis(model_config(), str(GOLDEN_CSV), str(tmp_path / "out"), local_model=model)

    assert caught.value.field == "compute"
    assert '"airflow-provider-clarify[engine]"' in str(caught.value)


def test_unusable_model_output_is_not_retried(tmp_path):
    import numpy as np

    with ModelServer(lambda x: np.full(len(x), np.inf)) as server:
        with pytest.raises(LocalAnalysisConfigError, match="non-finite") as caught:
            run_local_analysis(
                _features_model_config(), str(GOLDEN_CSV), str(tmp_path / "out"), local_model=server.url
            )
    assert caught.value.field == "predictor"
    assert "record 0" in str(caught.value)
    assert not (tmp_path / "out" / "analysis.json").exists()


def test_a_hung_model_server_fails_after_the_configured_attempts(tmp_path):
    release = threading.Event()

    def hang(x):
        release.wait(120)
        return x[:, 6]

    with ModelServer(hang) as server:
        try:
            with pytest.raises(LocalAnalysisError) as caught:
                run_local_analysis(
                    _features_model_config(),
                    str(GOLDEN_CSV),
                    str(tmp_path / "out"),
                    local_model={"url": server.url, "timeout_seconds": 1, "retries": 1},
                )
        finally:
            release.set()
        assert server.calls == 2  # one attempt and one retry, as configured
    assert not isinstance(caught.value, ClarifyConfigError)  # a server may recover: retryable
    assert "did not answer within 1 s, 2 attempt(s)" in str(caught.value)


def test_child_handles_sigterm_even_when_the_worker_ignores_it(tmp_path):
    """A worker that ignores SIGTERM passes that on to its children; the child must still stop."""
    from airflow_provider_clarify.operators.local_compute import CHILD_MODULE, _child_environment

    called = threading.Event()
    release = threading.Event()

    def hang(x):
        called.set()
        release.wait(120)
        return x[:, 6]

    out = tmp_path / "out"
    result_file = tmp_path / "result.json"
    with ModelServer(hang) as server:
        spec = {
            "analysis_config": _features_model_config(),
            "dataset": str(GOLDEN_CSV),
            "output": str(out),
            "model": ModelSource.http(server.url, timeout_seconds=120, retries=0).to_spec(),
            "result_file": str(result_file),
        }
        child = subprocess.Popen(
            [sys.executable, "-m", CHILD_MODULE],
            stdin=subprocess.PIPE,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            env=_child_environment(),
            preexec_fn=lambda: signal.signal(signal.SIGTERM, signal.SIG_IGN),
        )
        try:
            child.stdin.write(json.dumps(spec).encode())
            child.stdin.close()
            assert called.wait(120), "the child never called the model"
            child.send_signal(signal.SIGTERM)
            code = child.wait(60)  # a hang guard: before the fix the child ran on until SIGKILL
        finally:
            release.set()
            if child.poll() is None:
                child.kill()
                child.wait()
    assert code == 128 + signal.SIGTERM
    assert json.loads(result_file.read_text()) == {
        "ok": False,
        "terminated": True,
        "error_type": "Terminated",
    }
    assert not out.exists() or not list(out.iterdir())  # nothing half-written


def test_a_child_that_ignores_sigterm_is_killed_after_the_grace_period(tmp_path):
    stubborn = "import signal, time; signal.signal(signal.SIGTERM, signal.SIG_IGN); time.sleep(120)"
    model = hostile_artifact(tmp_path, exec, stubborn)

    with pytest.raises(LocalAnalysisError) as caught:
        run_local_analysis(
            model_config(),
            str(GOLDEN_CSV),
            str(tmp_path / "out"),
            local_model=model,
            timeout_seconds=3,
            kill_grace_seconds=1,
        )

    assert "did not finish within 3 s" in str(caught.value)
    assert caught.value.exit_code == -signal.SIGKILL  # SIGTERM was ignored, so SIGKILL followed


def test_kms_keys_apply_to_every_s3_write(tmp_path, s3_bucket, moto_endpoint):
    config_key = "arn:aws:kms:us-east-1:123456789012:key/00000000-0000-0000-0000-00000000c0f1"
    output_key = "arn:aws:kms:us-east-1:123456789012:key/00000000-0000-0000-0000-0000000000a1"
    config = bias_config()
    config["methods"]["report"] = {"name": "report"}
    run_local_analysis(
        config,
        str(GOLDEN_CSV),
        f"s3://{s3_bucket}/kms-run",
        kms_key=config_key,
        output_kms_key=output_key,
    )
    s3 = boto3.client("s3", endpoint_url=moto_endpoint, region_name=REGION)
    keys = sorted(o["Key"] for o in s3.list_objects_v2(Bucket=s3_bucket, Prefix="kms-run/")["Contents"])
    assert keys == ["kms-run/analysis.json", "kms-run/analysis_config.json", "kms-run/report.html"]
    for key in keys:
        head = s3.head_object(Bucket=s3_bucket, Key=key)
        assert head["ServerSideEncryption"] == "aws:kms", key
        assert head["SSEKMSKeyId"] == (config_key if key.endswith("analysis_config.json") else output_key)


def test_output_paths_cannot_climb_out_and_files_get_the_umask_mode(tmp_path):
    with pytest.raises(ClarifyConfigError) as caught:
        run_local_analysis(bias_config(), str(GOLDEN_CSV), str(tmp_path / "runs" / ".." / ".." / "escaped"))
    assert caught.value.field == "s3_output_path"
    assert not (tmp_path.parent / "escaped").exists()

    run_local_analysis(bias_config(), str(GOLDEN_CSV), str(tmp_path / "out"))
    umask = os.umask(0o022)
    os.umask(umask)
    modes = {p.name: p.stat().st_mode & 0o777 for p in (tmp_path / "out").iterdir()}
    assert modes == {"analysis.json": 0o666 & ~umask, "analysis_config.json": 0o666 & ~umask}


# --- the operators with compute="local" ---------------------------------------------------------------


@dataclass
class RecordingTI:
    """The parts of a TaskInstance the operators use: identity and xcom_push."""

    dag_id: str = "clarify_unit"
    task_id: str = "audit"
    run_id: str = "manual__2024-03-01T00:00:00+00:00"
    map_index: int = -1
    try_number: int = 1
    xcoms: dict = field(default_factory=dict)

    def xcom_push(self, key: str, value) -> None:
        self.xcoms[key] = value


def test_operator_local_mode_xcom_and_files_equal_sagemaker_mode(s3_bucket, moto_endpoint):
    """Same operator, one argument changed: same return value shape, XCom keys, job name and config file."""
    from airflow_provider_clarify.analysis.configs import BiasConfig, DataConfig
    from airflow_provider_clarify.hooks.clarify import ClarifyHook
    from airflow_provider_clarify.operators.clarify import ClarifyPreTrainingBiasOperator

    s3 = boto3.client("s3", endpoint_url=moto_endpoint, region_name=REGION)
    s3.upload_file(str(GOLDEN_CSV), s3_bucket, "credit/train.csv")
    iam = boto3.client("iam", endpoint_url=moto_endpoint, region_name=REGION)
    trust = {"Statement": [{"Effect": "Allow", "Principal": {"Service": "sagemaker.amazonaws.com"}}]}
    iam.create_role(RoleName="ClarifyRole", AssumeRolePolicyDocument=json.dumps(trust))

    def operator(compute: str, output: str) -> ClarifyPreTrainingBiasOperator:
        return ClarifyPreTrainingBiasOperator(
            task_id="audit",
            compute=compute,
            role="ClarifyRole",
            check_interval=0.05,
            deferrable=False,
            data_config=DataConfig(
                s3_data_input_path=f"s3://{s3_bucket}/credit/train.csv",
                s3_output_path=output,
                label="approved",
                headers=HEADERS,
                dataset_type="text/csv",
            ),
            bias_config=BiasConfig([1], "sex", ["female"], group_name="housing"),
        )

    managed_out, local_out = f"s3://{s3_bucket}/audit/managed", f"s3://{s3_bucket}/audit/local"
    managed_ti, local_ti = RecordingTI(), RecordingTI()
    managed_result = operator("sagemaker", managed_out).execute(
        {"ti": managed_ti, "task_instance": managed_ti}
    )
    local_result = operator("local", local_out).execute({"ti": local_ti, "task_instance": local_ti})

    assert (managed_result, local_result) == (managed_out, local_out)
    # Data XComs are identical in both modes; SageMaker mode also stores its console links' parameters.
    links = {"clarify_processing_job", "clarify_analysis_result"}
    # the history record needs analysis.json, which moto's processing job does not write
    assert managed_ti.xcoms.keys() - links == local_ti.xcoms.keys() - links - {"clarify_history"}
    assert local_ti.xcoms.keys() - links == {"job_name", "job_arn", "analysis_config_uri", "clarify_history"}
    assert local_ti.xcoms["job_name"] == managed_ti.xcoms["job_name"]
    assert local_ti.xcoms["job_arn"] is None
    # a SageMaker job reads a config of its own; once it completed, a copy sits beside its results
    assert (
        managed_ti.xcoms["analysis_config_uri"]
        == f"{managed_out}/{managed_ti.xcoms['job_name']}/analysis_config.json"
    )
    assert local_ti.xcoms["analysis_config_uri"] == f"{local_out}/analysis_config.json"

    def stored(key: str) -> dict:
        return json.loads(s3.get_object(Bucket=s3_bucket, Key=key)["Body"].read())

    assert stored("audit/local/analysis_config.json") == stored("audit/managed/analysis_config.json")
    # What a downstream gate does with the return value: read the result through the hook.
    result = ClarifyHook(aws_conn_id="aws_default").read_analysis_result(local_result)
    (ci,) = result.metric("CI", stage="pre_training")
    assert ci.value == pytest.approx(0.211, rel=1e-9)  # golden sex_female CI
