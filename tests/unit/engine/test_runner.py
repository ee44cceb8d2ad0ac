from __future__ import annotations

import csv
import json

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from airflow_provider_clarify.analysis.errors import ClarifyConfigError
from airflow_provider_clarify.engine import run_analysis
from airflow_provider_clarify.engine.errors import EngineConfigError
from airflow_provider_clarify.engine.predictors import ModelOutput, ModelOutputError, PredictorError
from airflow_provider_clarify.engine.runner import predicted_labels
from tests.support.model_server import ModelServer
from tests.unit.engine.golden import GOLDEN_CSV, assert_section_matches, golden_case, golden_cases

HEADERS = ["sex", "age", "job", "housing", "credit_amount", "duration", "approved", "score", "predicted"]


@pytest.fixture(scope="module")
def rows() -> list[dict]:
    with open(GOLDEN_CSV, newline="") as handle:
        return list(csv.DictReader(handle))


def _write_csv(path, rows, columns, header=True):
    with open(path, "w", newline="") as handle:
        writer = csv.writer(handle)
        if header:
            writer.writerow(columns)
        for row in rows:
            writer.writerow([row[c] for c in columns])
    return str(path)


def _config(name: str, **changes) -> dict:
    config = json.loads(json.dumps(golden_case(name)["analysis_config"]))
    config["excluded_columns"] = ["score"]  # the model does not see its own score (FT features as the golden)
    config.update(changes)
    return config


def _read(uri: str) -> dict:
    with open(uri) as handle:
        return json.load(handle)


@pytest.mark.parametrize("case", golden_cases(), ids=lambda c: c["name"])
def test_golden_configurations_reproduce_smclarify(case, tmp_path):
    config = _config(case["name"])
    uri = run_analysis(config, str(GOLDEN_CSV), str(tmp_path))
    assert uri == f"{tmp_path}/analysis.json"
    result = _read(uri)
    assert result["version"] == "1.0"
    for section in ("pre_training_bias_metrics", "post_training_bias_metrics"):
        if section in case:
            assert_section_matches(case[section], result[section])
        else:
            assert section not in result


def test_label_and_facet_by_index_give_the_same_result(tmp_path):
    config = _config("sex_female", label=6, predicted_label=8, group_variable=3)
    config["facet"] = [{"name_or_index": 0, "value_or_threshold": ["female"]}]
    result = _read(run_analysis(config, str(GOLDEN_CSV), str(tmp_path)))
    case = golden_case("sex_female")
    assert_section_matches(case["pre_training_bias_metrics"], result["pre_training_bias_metrics"])
    assert_section_matches(case["post_training_bias_metrics"], result["post_training_bias_metrics"])


def test_csv_without_header_row_uses_config_headers(tmp_path, rows):
    path = _write_csv(tmp_path / "data.csv", rows, HEADERS, header=False)
    result = _read(run_analysis(_config("housing_two_values"), path, str(tmp_path / "out")))
    case = golden_case("housing_two_values")
    assert_section_matches(case["pre_training_bias_metrics"], result["pre_training_bias_metrics"])


def test_predictions_from_an_in_process_model_match_the_prediction_column(tmp_path):
    """The golden 'predicted' column is score > 0.5; a model returning the score reproduces it."""
    config = _config("sex_female")
    del config["predicted_label"]
    config["excluded_columns"] = ["predicted"]  # the model sees the score column and returns it
    calls = []

    def model(features):
        calls.append(len(features))
        return features[:, 6].astype(float)  # sex, age, job, housing, credit_amount, duration, score

    result = _read(run_analysis(config, str(GOLDEN_CSV), str(tmp_path), model=model))
    assert calls == [2000]
    case = golden_case("sex_female")
    assert_section_matches(
        case["post_training_bias_metrics"], result["post_training_bias_metrics"], skip=("FT",)
    )


def test_predictions_from_an_http_model_server_in_one_request(tmp_path):
    config = _config("age_over_50")
    del config["predicted_label"]
    config["excluded_columns"] = ["predicted"]
    with ModelServer(lambda x: x[:, 6].astype(float)) as server:
        result = _read(run_analysis(config, str(GOLDEN_CSV), str(tmp_path), model=server.url))
        assert server.calls == 1
        assert server.records == 2000
    case = golden_case("age_over_50")
    assert_section_matches(
        case["post_training_bias_metrics"], result["post_training_bias_metrics"], skip=("FT",)
    )


def test_probability_threshold_matches_a_thresholded_column(tmp_path, rows):
    for row in rows:
        row["pred08"] = "1" if float(row["score"]) > 0.8 else "0"
    path = _write_csv(tmp_path / "data.csv", rows, [*HEADERS, "pred08"])
    column = _config("sex_female", headers=[*HEADERS, "pred08"], predicted_label="pred08")
    column["excluded_columns"] = ["score", "predicted"]
    column["methods"] = {"post_training_bias": {"methods": ["DPPL", "DI", "AD", "RD"]}}
    model = dict(column, probability_threshold=0.8)
    del model["predicted_label"]
    model["excluded_columns"] = ["predicted", "pred08"]
    expected = _read(run_analysis(column, path, str(tmp_path / "column")))
    got = _read(run_analysis(model, path, str(tmp_path / "model"), model=lambda x: x[:, 6].astype(float)))
    assert got == expected
    dppl = expected["post_training_bias_metrics"]["facets"]["sex"][0]["metrics"][2]
    assert dppl["name"] == "DPPL"
    assert dppl["value"] != 0


def test_multiclass_scores_take_the_label_header_of_the_highest_score(tmp_path):
    config = _config("housing_two_values")
    del config["predicted_label"]
    config["excluded_columns"] = ["predicted"]
    config["predictor"] = {"label_headers": [0, 1]}

    def model(x):
        score = x[:, 6].astype(float)
        return np.column_stack([1 - score, score])

    result = _read(run_analysis(config, str(GOLDEN_CSV), str(tmp_path), model=model))
    case = golden_case("housing_two_values")
    assert_section_matches(
        case["post_training_bias_metrics"], result["post_training_bias_metrics"], skip=("FT",)
    )


def test_predicted_labels_rules():
    scores = ModelOutput(np.array([[0.5], [0.51], [0.2]]), None)
    assert predicted_labels(scores, threshold=0.5, label_headers=None, rows=3).tolist() == [0, 1, 0]
    multi = ModelOutput(np.array([[0.2, 0.5, 0.3], [0.4, 0.4, 0.2]]), None)
    assert predicted_labels(multi, threshold=0.5, label_headers=["a", "b", "c"], rows=2).tolist() == [
        "b",
        "a",
    ]
    with pytest.raises(PredictorError, match="label_headers has 2 entries"):
        predicted_labels(multi, threshold=0.5, label_headers=["a", "b"], rows=2)
    with pytest.raises(PredictorError, match="returned 3 predictions for 4 records"):
        predicted_labels(scores, threshold=0.5, label_headers=None, rows=4)


def test_a_model_answering_the_wrong_number_of_predictions_fails_clearly(tmp_path):
    config = _config("sex_female")
    del config["predicted_label"]
    with pytest.raises(PredictorError, match="returned 1999 predictions for 2000 records"):
        run_analysis(config, str(GOLDEN_CSV), str(tmp_path), model=lambda x: np.zeros(len(x) - 1))
    assert not (tmp_path / "analysis.json").exists()


def test_predicted_label_dataset_joined_on_joinsource(tmp_path, rows):
    for i, row in enumerate(rows):
        row["id"] = str(i)
    main = _write_csv(tmp_path / "main.csv", rows, ["id", *HEADERS[:-1]])
    shuffled = list(reversed(rows))
    side = _write_csv(tmp_path / "pred.csv", shuffled, ["id", "predicted"], header=False)
    config = _config("sex_female", headers=["id", *HEADERS[:-1]], joinsource_name_or_index="id")
    config.update(predicted_label_dataset_uri=side, predicted_label_headers=["id", "predicted"])
    result = _read(run_analysis(config, main, str(tmp_path / "out")))
    case = golden_case("sex_female")
    assert_section_matches(case["post_training_bias_metrics"], result["post_training_bias_metrics"])
    assert_section_matches(case["pre_training_bias_metrics"], result["pre_training_bias_metrics"])


def test_facet_dataset_side_by_side(tmp_path, rows):
    main_columns = [c for c in HEADERS if c != "sex"]
    main = _write_csv(tmp_path / "main.csv", rows, main_columns)
    facets = _write_csv(tmp_path / "facets.csv", rows, ["sex"])
    config = _config("sex_female")
    del config["headers"]
    config["facet_dataset_uri"] = facets
    result = _read(run_analysis(config, main, str(tmp_path / "out")))
    case = golden_case("sex_female")
    assert_section_matches(case["pre_training_bias_metrics"], result["pre_training_bias_metrics"])


def test_jsonlines_dataset(tmp_path, rows):
    path = tmp_path / "data.jsonl"
    with open(path, "w") as handle:
        for row in rows:
            features = [
                row["sex"],
                int(row["age"]),
                row["job"],
                row["housing"],
                int(row["credit_amount"]),
                int(row["duration"]),
            ]
            handle.write(json.dumps({"features": features, "label": int(row["approved"])}) + "\n")
    config = {
        "dataset_type": "application/jsonlines",
        "headers": ["sex", "age", "job", "housing", "credit_amount", "duration", "approved"],
        "features": "features",
        "label": "label",
        "label_values_or_threshold": [1],
        "facet": [{"name_or_index": "housing", "value_or_threshold": ["rent", "free"]}],
        "group_variable": "sex",
        "methods": {"pre_training_bias": {"methods": "all"}},
    }
    result = _read(run_analysis(config, str(path), str(tmp_path / "out")))
    case = golden_case("housing_two_values")
    assert_section_matches(case["pre_training_bias_metrics"], result["pre_training_bias_metrics"])


def test_parquet_dataset_in_part_files(tmp_path, rows):
    folder = tmp_path / "parquet"
    folder.mkdir()
    for part, chunk in enumerate((rows[:700], rows[700:])):
        table = pa.table(
            {
                "sex": [r["sex"] for r in chunk],
                "age": [int(r["age"]) for r in chunk],
                "job": [r["job"] for r in chunk],
                "approved": [int(r["approved"]) for r in chunk],
                "predicted": [int(r["predicted"]) for r in chunk],
            }
        )
        pq.write_table(table, folder / f"part-{part}.parquet", row_group_size=256)
    config = _config("age_over_50")
    for key in ("headers", "excluded_columns"):
        config.pop(key)
    config["dataset_type"] = "application/x-parquet"
    config["methods"] = {
        "pre_training_bias": {"methods": "all"},
        "post_training_bias": {"methods": ["DPPL", "DI", "AD"]},
    }
    result = _read(run_analysis(config, str(folder), str(tmp_path / "out")))
    case = golden_case("age_over_50")
    assert_section_matches(case["pre_training_bias_metrics"], result["pre_training_bias_metrics"])
    got = {m["name"] for m in result["post_training_bias_metrics"]["facets"]["age"][0]["metrics"]}
    assert got == {"DPPL", "DI", "AD"}


def test_s3_dataset_and_output_through_moto(tmp_path, s3_options, s3_client, s3_bucket):
    s3_client.put_object(Bucket=s3_bucket, Key="in/data.csv", Body=GOLDEN_CSV.read_bytes())
    config = _config("amount_threshold_label")
    uri = run_analysis(
        config, f"s3://{s3_bucket}/in/data.csv", f"s3://{s3_bucket}/out", storage_options=s3_options
    )
    assert uri == f"s3://{s3_bucket}/out/analysis.json"
    result = json.loads(s3_client.get_object(Bucket=s3_bucket, Key="out/analysis.json")["Body"].read())
    case = golden_case("amount_threshold_label")
    assert_section_matches(case["pre_training_bias_metrics"], result["pre_training_bias_metrics"])


def test_dataset_uri_from_the_config_and_config_as_a_file(tmp_path):
    config = _config("amount_threshold_label", dataset_uri=str(GOLDEN_CSV))
    path = tmp_path / "analysis_config.json"
    path.write_text(json.dumps(config))
    uri = run_analysis(str(path), output=str(tmp_path / "out"))
    assert _read(uri)["pre_training_bias_metrics"]["label"] == "credit_amount"


def test_missing_label_column_is_a_config_error_and_writes_nothing(tmp_path):
    config = _config("sex_female", label="Target")
    with pytest.raises(ClarifyConfigError, match="'label': column 'Target' is not in the dataset"):
        run_analysis(config, str(GOLDEN_CSV), str(tmp_path / "out"))
    assert not (tmp_path / "out").exists() or list((tmp_path / "out").iterdir()) == []


def test_a_failed_rerun_keeps_the_previous_analysis_intact(tmp_path, monkeypatch):
    out = tmp_path / "out"
    run_analysis(_config("amount_threshold_label"), str(GOLDEN_CSV), str(out))
    before = (out / "analysis.json").read_text()

    from airflow_provider_clarify.engine import output as output_module

    def broken(analysis, indent=4):
        raise RuntimeError("serialiser crashed")

    monkeypatch.setattr(output_module, "dumps_analysis", broken)
    with pytest.raises(RuntimeError, match="serialiser crashed"):
        run_analysis(_config("housing_two_values"), str(GOLDEN_CSV), str(out))
    assert (out / "analysis.json").read_text() == before
    assert sorted(p.name for p in out.iterdir()) == ["analysis.json"]


def test_report_is_written_next_to_analysis_json(tmp_path):
    config = _config("amount_threshold_label")
    config["methods"]["report"] = {"name": "my_report", "title": "Analysis Report"}
    run_analysis(config, str(GOLDEN_CSV), str(tmp_path))
    html = (tmp_path / "my_report.html").read_text()
    assert "<html" in html.lower()
    assert "CI" in html


def test_post_training_without_predictions_or_model_explains_the_fix(tmp_path):
    config = _config("sex_female")
    del config["predicted_label"]
    with pytest.raises(EngineConfigError, match="no model is given"):
        run_analysis(config, str(GOLDEN_CSV), str(tmp_path))


def test_methods_the_engine_cannot_run_are_refused():
    with pytest.raises(ClarifyConfigError, match="asymmetric_shapley_value"):
        run_analysis(
            {"dataset_type": "text/csv", "methods": {"asymmetric_shapley_value": {}}},
            str(GOLDEN_CSV),
            "/tmp/x",
        )


def test_a_given_http_predictor_learns_the_feature_names_for_json_templates(tmp_path):
    from airflow_provider_clarify.engine.predictors import HttpPredictor

    config = _config("age_over_50")
    del config["predicted_label"]
    config["excluded_columns"] = ["predicted"]
    config["methods"] = {"post_training_bias": {"methods": ["DPPL", "DI", "AD"]}}
    seen = []

    def model(x):
        seen.append(x[0].tolist())
        return x[:, 6].astype(float)

    with ModelServer(model) as server:
        predictor = HttpPredictor(
            server.url,
            content_type="application/json",
            content_template='{"instances": $records}',
            record_template="$features_kvp",
            probability="predictions[*].score",
        )
        result = _read(run_analysis(config, str(GOLDEN_CSV), str(tmp_path), model=predictor))
    assert seen[0][:2] == ["male", 37.0]  # {"sex": "male", "age": 37, ...} in model-input order
    case = golden_case("age_over_50")
    expected = case["post_training_bias_metrics"]
    got = {m["name"]: m["value"] for m in result["post_training_bias_metrics"]["facets"]["age"][0]["metrics"]}
    want = {m["name"]: m["value"] for m in expected["facets"]["age"][0]["metrics"] if m["name"] in got}
    assert got == pytest.approx(want, rel=1e-9)


# --- unusable model output gives an error, never a "fair" verdict (issue 11 item 2) -----------------------


def _model_config(name: str = "sex_female") -> dict:
    config = _config(name)
    del config["predicted_label"]
    config["excluded_columns"] = ["predicted"]
    config["methods"] = {"post_training_bias": {"methods": ["DPPL", "DI"]}}
    return config


@pytest.mark.parametrize("bad", [float("nan"), float("inf")])
def test_non_finite_scores_fail_bias_naming_the_dataset_records(tmp_path, bad):
    def model(features):
        scores = features[:, 6].astype(float)
        scores[[5, 1700]] = bad
        return scores

    with pytest.raises(ModelOutputError) as caught:
        run_analysis(_model_config(), str(GOLDEN_CSV), str(tmp_path / "out"), model=model)
    assert caught.value.rows == [5, 1700]
    assert "record 5" in str(caught.value)
    assert "record 1700" in str(caught.value)
    assert not (tmp_path / "out" / "analysis.json").exists()


def test_all_nan_scores_over_http_are_not_a_fair_verdict(tmp_path):
    with ModelServer(lambda x: np.full(len(x), np.nan)) as server:
        with pytest.raises(ModelOutputError, match="non-finite"):
            run_analysis(_model_config(), str(GOLDEN_CSV), str(tmp_path / "out"), model=server.url)
    assert not (tmp_path / "out" / "analysis.json").exists()


def test_unparseable_model_output_says_so(tmp_path):
    """An error page answered with status 200 used to end as "No Label values ... in the predicted Label Column"."""
    with ModelServer(lambda x: np.array(["<html>error</html>"] * len(x), dtype=object)) as server:
        with pytest.raises(ModelOutputError, match="could not be parsed as predictions") as caught:
            run_analysis(_model_config(), str(GOLDEN_CSV), str(tmp_path / "out"), model=server.url)
    assert caught.value.rows[:3] == [0, 1, 2]
    assert "<html>error</html>" in str(caught.value)
    assert "accept_type" in str(caught.value)


def test_non_finite_scores_fail_shap(tmp_path):
    config = _config("sex_female")
    config["excluded_columns"] = ["predicted"]
    config["methods"] = {
        "shap": {"baseline": [["male", 30, "skilled", "own", 2000, 12, 0.5]], "num_samples": 20}
    }
    config.pop("predicted_label", None)

    def model(features):
        scores = np.asarray(features[:, 6], dtype=float)
        scores[np.asarray(features[:, 1], dtype=float) > 70] = np.inf
        return scores

    with pytest.raises(ModelOutputError, match="non-finite"):
        run_analysis(config, str(GOLDEN_CSV), str(tmp_path / "out"), model=model)
    assert not (tmp_path / "out" / "analysis.json").exists()


# --- every write stays in the output folder (issue 11 item 7) ----------------------------------------------


@pytest.mark.parametrize("name", ["../../escaped", "/tmp/abs", "a/b", ".."])
def test_report_name_cannot_leave_the_output_folder(tmp_path, name):
    config = _config("amount_threshold_label")
    config["methods"]["report"] = {"name": name}
    out = tmp_path / "deep" / "out"
    with pytest.raises(ClarifyConfigError) as caught:
        run_analysis(config, str(GOLDEN_CSV), str(out))
    assert caught.value.field == "methods.report.name"
    assert not list(tmp_path.rglob("*.html"))
    assert not (out / "analysis.json").exists()  # refused before any work


def test_output_location_refuses_escaping_names(tmp_path):
    from airflow_provider_clarify.engine.io import OutputLocation

    location = OutputLocation(str(tmp_path / "out"))
    for name in ("../x.json", "a/../../x.json", "/etc/x", "a\\..\\x"):
        with pytest.raises(ClarifyConfigError):
            location.write_text(name, "{}")
    assert location.write_text("explanations/./ok.json", "{}").endswith("explanations/ok.json")
    assert not (tmp_path / "x.json").exists()


# --- SSE-KMS for every S3 write (issue 11 item 6) ----------------------------------------------------------


def test_output_kms_key_encrypts_every_s3_object(tmp_path, s3_options, s3_client, s3_bucket):
    key_id = "arn:aws:kms:us-east-1:123456789012:key/1234abcd-12ab-34cd-56ef-1234567890ab"
    config = _config("amount_threshold_label")
    config["methods"]["report"] = {"name": "report"}
    run_analysis(
        config, str(GOLDEN_CSV), f"s3://{s3_bucket}/kms", storage_options=s3_options, output_kms_key=key_id
    )
    keys = [o["Key"] for o in s3_client.list_objects_v2(Bucket=s3_bucket, Prefix="kms/")["Contents"]]
    assert sorted(keys) == ["kms/analysis.json", "kms/report.html"]
    for key in keys:
        head = s3_client.head_object(Bucket=s3_bucket, Key=key)
        assert head["ServerSideEncryption"] == "aws:kms", key
        assert head["SSEKMSKeyId"] == key_id, key


def test_local_output_files_get_the_umask_mode(tmp_path):
    import os

    config = _config("amount_threshold_label")
    config["methods"]["report"] = {"name": "report"}
    run_analysis(config, str(GOLDEN_CSV), str(tmp_path / "out"))
    umask = os.umask(0o022)
    os.umask(umask)
    for path in (tmp_path / "out").iterdir():
        assert path.stat().st_mode & 0o777 == 0o666 & ~umask, path.name


def test_bias_warnings_are_shown_in_the_report(tmp_path):
    """A warning of a bias section (here: a facet value that never occurs, in parity mode via a
    second, valid value) reaches report.html's Warnings section, not only the log."""
    data = tmp_path / "data.csv"
    data.write_text("sex,y\n" + "".join(f"{s},{y}\n" for s, y in [("female", 1), ("male", 0), ("male", 1)] * 20))
    config = {
        "dataset_type": "text/csv",
        "label": "y",
        "label_values_or_threshold": [1],
        "facet": [{"name_or_index": "sex", "value_or_threshold": ["female", "Male"]}],
        "methods": {"pre_training_bias": {"methods": ["CI"]}, "report": {"name": "report"}},
    }
    run_analysis(config, str(data), str(tmp_path / "out"))
    analysis = json.loads((tmp_path / "out" / "analysis.json").read_text())
    (warning,) = analysis["pre_training_bias_metrics"]["warnings"]
    report = (tmp_path / "out" / "report.html").read_text()
    assert 'id="warnings"' in report
    assert "did you mean &#39;male&#39;?" in report or "did you mean 'male'?" in report
