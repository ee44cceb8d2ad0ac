"""Kernel SHAP and PDP on the Spark backend give the single machine's values (docs/scale-out.md).

Differential tests on the standalone cluster (two workers): the oracle is ``run_analysis`` on one
machine with the same config, seed and model. ``analysis.json``'s ``kernel_shap`` block,
``explanations_shap/baseline.csv`` and ``explanations_shap/out.csv`` must be byte-identical; PDP
curves (sums of model outputs added in another order) agree within the stated tolerance, and every
other PDP field is equal. The model is a scikit-learn pipeline stored as a trusted artifact (loaded on
the driver, broadcast), a model server speaking the SageMaker hosting contract (called from the
executors) and, through the CLI's ``--backend spark``, the artifact again.
"""

from __future__ import annotations

import json

import numpy as np
import pytest

from airflow_provider_clarify.analysis.model_source import ModelSource
from airflow_provider_clarify.engine.errors import EngineConfigError
from airflow_provider_clarify.engine.runner import run_analysis
from airflow_provider_clarify.engine.spark.runner import run_analysis_spark
from tests.support.model_server import ModelServer
from tests.unit.engine.golden import GOLDEN_CSV

#: PDP curves: |spark - local| <= PDP_TOLERANCE * max |local| per curve (docs/scale-out.md).
PDP_TOLERANCE = 1e-12
ROWS = 15_000  # more than one machine's records per model call (6,211 here): several units


def _dataset(path) -> str:
    """A mixed-type credit table (strings, integers, floats with gaps) with an id column."""
    rng = np.random.default_rng(11)
    sex = rng.choice(["female", "male"], ROWS)
    job = rng.choice(["management", "skilled", "unskilled", "self employed"], ROWS)
    age = rng.integers(19, 75, ROWS)
    amount = np.round(rng.lognormal(7.5, 0.6, ROWS), 2).astype(object)
    amount[rng.random(ROWS) < 0.02] = ""
    duration = rng.integers(4, 60, ROWS)
    approved = (rng.random(ROWS) < 0.6).astype(int)
    lines = ["id,sex,age,job,credit_amount,duration,approved"]
    lines += [
        f"C{i:05d},{sex[i]},{age[i]},{job[i]},{amount[i]},{duration[i]},{approved[i]}" for i in range(ROWS)
    ]
    path.write_text("\n".join(lines) + "\n")
    return str(path)


def _artifact(path, dataset: str) -> str:
    import joblib
    import pandas as pd
    from sklearn.compose import ColumnTransformer
    from sklearn.impute import SimpleImputer
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import OneHotEncoder

    frame = pd.read_csv(dataset)
    features = frame[["sex", "age", "job", "credit_amount", "duration"]].to_numpy(dtype=object)
    columns = ColumnTransformer(
        [
            ("categories", OneHotEncoder(handle_unknown="ignore"), [0, 2]),
            ("numbers", SimpleImputer(), [1, 3, 4]),
        ]
    )
    model = make_pipeline(columns, LogisticRegression(max_iter=500)).fit(features, frame["approved"])
    joblib.dump(model, path)
    return str(path)


def _config(**shap) -> dict:
    return {
        "dataset_type": "text/csv",
        "label": "approved",
        "joinsource_name_or_index": "id",
        "methods": {
            "shap": {"num_samples": 40, "seed": 7, "save_local_shap_values": True, **shap},
            "pdp": {"top_k_features": 3, "grid_resolution": 8},
            "report": {"name": "report"},
        },
    }


def _assert_same_explanations(local, remote) -> None:
    for name in ("explanations_shap/baseline.csv", "explanations_shap/out.csv"):
        assert (remote / name).exists() == (local / name).exists(), name
        if (local / name).exists():
            assert (remote / name).read_text() == (local / name).read_text(), name
    expected = json.loads((local / "analysis.json").read_text())
    got = json.loads((remote / "analysis.json").read_text())
    assert got["explanations"].get("kernel_shap") == expected["explanations"].get("kernel_shap")
    assert len(got["explanations"]["pdp"]) == len(expected["explanations"]["pdp"])
    for ours, theirs in zip(got["explanations"]["pdp"], expected["explanations"]["pdp"], strict=True):
        curves = ours.pop("model_predictions", None), theirs.pop("model_predictions", None)
        assert ours == theirs  # names, types, grid, distribution, headers: exact
        if curves[1] is not None:
            spark_curve, local_curve = np.asarray(curves[0]), np.asarray(curves[1])
            assert spark_curve.shape == local_curve.shape
            assert np.max(np.abs(spark_curve - local_curve)) <= PDP_TOLERANCE * np.max(np.abs(local_curve))
    assert set(got) == set(expected)
    assert (remote / "report.html").exists() == (local / "report.html").exists()


@pytest.fixture(scope="module")
def credit(tmp_path_factory):
    folder = tmp_path_factory.mktemp("explain-data")
    dataset = _dataset(folder / "credit.csv")
    return dataset, _artifact(folder / "model.joblib", dataset)


def test_units_are_whole_model_calls_across_segments(spark, credit):
    """The records are cut at multiples of one machine's records per call, across segment bounds."""
    from airflow_provider_clarify.engine.spark.dataset import open_dataset
    from airflow_provider_clarify.engine.spark.explain import plan_units, segment_rows

    data = open_dataset(spark, credit[0])
    data.settle()
    rows, _ = segment_rows(data, ["age"])
    assert sum(rows) == ROWS
    assert len(rows) > 5
    units = plan_units(data, rows, parallelism=2, step=6211)
    assert [u.offset for u in units] == [0, 6211, 12422]
    assert sum(u.size for u in units) == ROWS
    assert any(len(u.pieces) > 1 for u in units)  # a unit reads several segments


def test_shap_and_pdp_with_a_broadcast_artifact_match_one_machine(spark, credit, tmp_path):
    dataset, artifact = credit
    model = ModelSource.from_artifact(artifact, trust=True)
    run_analysis(_config(), dataset, str(tmp_path / "local"), model=model)
    run_analysis_spark(spark, _config(), dataset, str(tmp_path / "spark"), model=model)
    _assert_same_explanations(tmp_path / "local", tmp_path / "spark")
    out = (tmp_path / "spark" / "explanations_shap" / "out.csv").read_text().splitlines()
    assert out[0].startswith("id,")
    assert out[1].startswith("C00000,")
    assert len(out) == ROWS + 1


def test_a_model_server_is_called_from_the_executors(spark, tmp_path):
    """SageMaker hosting contract over HTTP; a baseline file; only some features explained."""

    def score(x):
        age = x[:, 1].astype(float)
        amount = x[:, 4].astype(float)
        female = (x[:, 0] == "female").astype(float)
        return 1 / (1 + np.exp(-(0.03 * (age - 40) - 0.0002 * (amount - 2000) + 0.4 * female)))

    baseline = tmp_path / "baseline.csv"
    baseline.write_text("male,35,skilled,own,2500,24\nfemale,45,management,rent,4000,12\n")
    config = {
        "dataset_type": "text/csv",
        "label": "approved",
        "excluded_columns": ["score", "predicted"],
        "methods": {
            "shap": {
                "baseline": str(baseline),
                "num_samples": 30,
                "seed": 3,
                "agg_method": "mean_sq",
                "features_to_explain": ["sex", "age", "credit_amount"],
                "save_local_shap_values": True,
            },
            "pdp": {"features": ["age", "job"], "grid_resolution": 5},
        },
    }
    with ModelServer(score) as server:
        run_analysis(config, str(GOLDEN_CSV), str(tmp_path / "local"), model=server.url)
        calls = server.calls
        run_analysis_spark(spark, config, str(GOLDEN_CSV), str(tmp_path / "spark"), model=server.url)
        assert server.calls > calls  # the executors called the server
    _assert_same_explanations(tmp_path / "local", tmp_path / "spark")


class _InvokeEndpointStandIn:
    """``POST /endpoints/<name>/invocations`` (SageMaker runtime's InvokeEndpoint) forwarded to a model
    server's ``/invocations``: what botocore sends to ``endpoint_url``, answered by a real model."""

    def __init__(self, model_url: str, endpoint_name: str) -> None:
        import threading
        import urllib.request
        from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

        stand_in = self
        self.invocations = 0

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):
                body = self.rfile.read(int(self.headers["Content-Length"]))
                if self.path != f"/endpoints/{endpoint_name}/invocations":
                    self.send_response(404)
                    self.end_headers()
                    return
                stand_in.invocations += 1
                request = urllib.request.Request(
                    model_url + "/invocations",
                    data=body,
                    headers={"Content-Type": self.headers["Content-Type"], "Accept": self.headers["Accept"]},
                )
                with urllib.request.urlopen(request, timeout=60) as answer:
                    payload, content_type = answer.read(), answer.headers["Content-Type"]
                self.send_response(200)
                self.send_header("Content-Type", content_type)
                self.send_header("Content-Length", str(len(payload)))
                self.end_headers()
                self.wfile.write(payload)

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def __enter__(self):
        self.thread.start()
        return self

    def __exit__(self, *exc):
        self.server.shutdown()
        self.server.server_close()


def test_a_sagemaker_endpoint_is_invoked_from_the_executors(spark, tmp_path):
    """``predictor.endpoint_name``: each executor builds its own sagemaker-runtime client."""
    config = {
        "dataset_type": "text/csv",
        "label": "approved",
        "excluded_columns": ["score", "predicted", "sex", "job", "housing"],
        "predictor": {"endpoint_name": "credit-model", "content_type": "text/csv", "accept_type": "text/csv"},
        "methods": {
            "shap": {"baseline": [[40, 2000, 24]], "seed": 2, "use_logit": True},
            "pdp": {"features": ["age", "duration"], "grid_resolution": 5},
        },
    }
    aws = {"aws_access_key_id": "testing", "aws_secret_access_key": "testing", "region_name": "us-east-1"}

    def score(x):
        return 1 / (1 + np.exp(-(0.04 * (x[:, 0] - 35) - 0.0001 * x[:, 1] + 0.01 * x[:, 2])))

    with ModelServer(score) as model, _InvokeEndpointStandIn(model.url, "credit-model") as endpoint:
        run_analysis(
            config, str(GOLDEN_CSV), str(tmp_path / "local"), storage_options=aws, endpoint_url=endpoint.url
        )
        calls = endpoint.invocations
        run_analysis_spark(
            spark,
            config,
            str(GOLDEN_CSV),
            str(tmp_path / "spark"),
            storage_options=aws,
            endpoint_url=endpoint.url,
        )
        assert endpoint.invocations > calls
    _assert_same_explanations(tmp_path / "local", tmp_path / "spark")


@pytest.mark.parametrize("fmt", ["parquet", "jsonlines"])
def test_parquet_and_json_lines_datasets(spark, tmp_path, fmt):
    """The other formats: Parquet part files of several row groups, JSON Lines part files."""
    from tests.unit.engine.spark.formats import as_format

    config = {
        "dataset_type": "text/csv",
        "label": "approved",
        "predicted_label": "predicted",
        "excluded_columns": ["score"],
        "facet": [{"name_or_index": "sex"}],
        "methods": {
            "shap": {"num_samples": 24, "seed": 5, "num_clusters": 3, "save_local_shap_values": True},
            "pdp": {"features": ["age", "sex"], "grid_resolution": 4},
        },
    }
    dataset, config = as_format(GOLDEN_CSV, config, fmt, tmp_path / fmt)

    def model(x):  # pickled by value (cloudpickle) for the executors
        age, amount = x[:, 1].astype(float), x[:, 4].astype(float)
        return np.tanh(0.02 * (age - 35) + 0.0001 * amount) + (x[:, 0] == "female")

    run_analysis(config, str(dataset), str(tmp_path / "local"), model=model)
    run_analysis_spark(spark, config, str(dataset), str(tmp_path / "spark"), model=model)
    _assert_same_explanations(tmp_path / "local", tmp_path / "spark")


def test_cli_backend_spark_explains_with_a_trusted_artifact(spark, credit, tmp_path):
    """``--backend spark`` with ``--model-artifact`` (the session of the test is the active one)."""
    from airflow_provider_clarify.engine.__main__ import main

    dataset, artifact = credit
    config = dict(
        _config(),
        methods={
            "shap": {"num_samples": 20, "seed": 1},
            "pdp": {"features": ["job", "age"], "grid_resolution": 6},
        },
    )
    (tmp_path / "config.json").write_text(json.dumps(config))
    status = main(
        [
            "--backend",
            "spark",
            "--analysis-config",
            str(tmp_path / "config.json"),
            "--dataset",
            dataset,
            "--output",
            str(tmp_path / "spark"),
            "--model-artifact",
            artifact,
            "--trust-model-artifact",
        ]
    )
    assert status == 0
    run_analysis(
        config, dataset, str(tmp_path / "local"), model=ModelSource.from_artifact(artifact, trust=True)
    )
    _assert_same_explanations(tmp_path / "local", tmp_path / "spark")


@pytest.mark.parametrize(
    ("shap", "field", "words"),
    [
        ({"text_config": {"granularity": "token", "language": "english"}}, "methods", "text explanations"),
        ({"num_samples": 10}, "predictor", "predictor.endpoint_name"),
    ],
    ids=["text", "no_model"],
)
def test_what_cannot_be_explained_fails_before_any_job(spark, tmp_path, shap, field, words):
    config = {"dataset_type": "text/csv", "label": "approved", "methods": {"shap": shap}}
    with pytest.raises(EngineConfigError) as failure:
        run_analysis_spark(spark, config, str(GOLDEN_CSV), str(tmp_path / "out"))
    assert failure.value.field == field
    assert words in str(failure.value)
    assert not (tmp_path / "out").exists()


def test_model_errors_reach_the_driver_with_their_class_and_message():
    """A bad model answer found by a task is raised on the driver as one machine raises it (without a
    Spark session: the carrying is pure pickling)."""
    import pickle

    from airflow_provider_clarify.engine.model_codec import ModelOutputError, PredictorError
    from airflow_provider_clarify.engine.spark.explain import portable, restored

    for error in (
        ModelOutputError("non-finite score(s)", "Check the model.", rows=[1, 2], values=[float("nan"), 1.0]),
        PredictorError("the model server answered 503"),
        EngineConfigError("bad", field="methods.shap"),
    ):
        back = restored(pickle.loads(pickle.dumps(portable(error))))
        assert type(back) is type(error)
        assert str(back) == str(error)
        assert getattr(back, "field", None) == getattr(error, "field", None)


def test_a_bad_model_answer_fails_as_on_one_machine(spark, tmp_path):
    from airflow_provider_clarify.engine.model_codec import ModelOutputError

    config = {
        "dataset_type": "text/csv",
        "label": "approved",
        "excluded_columns": ["score", "predicted", "sex", "job", "housing"],
        "methods": {"shap": {"baseline": [[40, 2000, 24]], "seed": 2}},
    }

    def model(x):
        return np.where(x[:, 0] > 70, np.nan, 0.5)

    with pytest.raises(ModelOutputError) as local:
        run_analysis(config, str(GOLDEN_CSV), str(tmp_path / "local"), model=model)
    with pytest.raises(ModelOutputError) as remote:
        run_analysis_spark(spark, config, str(GOLDEN_CSV), str(tmp_path / "spark"), model=model)
    assert str(remote.value) == str(local.value)
    assert not (tmp_path / "spark").exists()
