"""The fairness-history plugin on a real ``airflow api-server`` (SQLite), and its page in headless Chromium.

One server for the module. Before it starts, the metadata DB gets:

* three real ``dag.test()`` runs of ``history_audit`` (tests/data/history/clarify_history_dags.py):
  an audit task recording its analysis and the real ``ClarifyCheckOperator`` recording its verdict;
* 1,000 synthetic audited runs of ``history_many`` and a few of ``history_secret``
  (tests/support/history_runs.py).

The server uses Airflow's SimpleAuthManager with two configured users, ``analyst`` and ``outsider``;
``outsider`` is denied the DAG ``history_secret`` (tests/support/history_auth.py), so DAG-level
authorisation is exercised through Airflow's own auth-manager calls.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from importlib.metadata import entry_points
from urllib.parse import quote

import pendulum
import pytest

from airflow_provider_clarify.history import HISTORY_XCOM_KEY
from tests.support.api_server import start_api_server, stop_api_server
from tests.support.dag_runs import bundled_dag, folder_with, task_states
from tests.support.history_runs import add_synthetic_runs, di_of_run
from tests.support.paths import REPO_ROOT, TEST_DATA

HISTORY_DAGS = TEST_DATA / "history" / "clarify_history_dags.py"
ARTIFACTS = REPO_ROOT / "build" / "test-artifacts"
MANY = 1000
PASSWORDS = {"analyst": "analyst-pw", "outsider": "outsider-pw"}
#: DI of history_audit on days 1..3 (the DAG's audit task: 0.55 + 0.1 * day)
AUDIT_DI = [0.65, 0.75, 0.85]


def _plugin_loader(folder):
    """Load the plugin from a plugins folder unless the installed distribution's entry point does."""
    folder.mkdir(parents=True, exist_ok=True)
    registered = any(
        e.value.startswith("airflow_provider_clarify.plugins") for e in entry_points(group="airflow.plugins")
    )
    if not registered:
        (folder / "clarify_history_plugin.py").write_text(
            "from airflow_provider_clarify.plugins.history import ClarifyHistoryPlugin  # noqa: F401\n"
        )
    return folder


@pytest.fixture(scope="module")
def history_db(airflow_db, tmp_path_factory):
    """The runs the server will serve: real ones of history_audit, synthetic ones of the other two."""
    patch = pytest.MonkeyPatch()
    output = tmp_path_factory.mktemp("history-output")
    patch.setenv("CLARIFY_HISTORY_OUTPUT", str(output))
    folder = folder_with(tmp_path_factory, HISTORY_DAGS, "history-dags")
    runs = []
    for dag_id in ("history_many", "history_secret", "history_audit"):
        dag = bundled_dag(patch, folder, dag_id, bundle_name="history-dags")
        if dag_id != "history_audit":
            dag.test(logical_date=pendulum.datetime(2019, 1, 1, tz="UTC"))  # registers the DAG
            continue
        for day in (1, 2, 3):
            run = dag.test(logical_date=pendulum.datetime(2024, 3, day, tz="UTC"))
            assert run.state == "success", task_states(run)
            runs.append(run.run_id)
    add_synthetic_runs("history_many", MANY, start=datetime(2021, 1, 1, tzinfo=UTC))
    add_synthetic_runs("history_secret", 3, start=datetime(2021, 1, 1, tzinfo=UTC))
    yield {"audit_runs": runs, "output": output, "patch": patch}
    patch.undo()


@pytest.fixture(scope="module")
def server(history_db, tmp_path_factory):
    workdir = tmp_path_factory.mktemp("api-server")
    passwords = workdir / "passwords.json"
    passwords.write_text(json.dumps(PASSWORDS))
    env = {
        "AIRFLOW__CORE__AUTH_MANAGER": "tests.support.history_auth.DagScopedAuthManager",
        "AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_USERS": "analyst:viewer,outsider:viewer",
        "AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_PASSWORDS_FILE": str(passwords),
        "AIRFLOW__CORE__PLUGINS_FOLDER": str(_plugin_loader(workdir / "plugins")),
        "AIRFLOW__CORE__UNIT_TEST_MODE": "False",
        "AIRFLOW__API_AUTH__JWT_SECRET": "clarify-history-test-secret",
        "CLARIFY_TEST_DENY": "outsider:history_secret",
    }
    api = start_api_server(workdir, env)
    api.tokens = {user: api.token(user, password) for user, password in PASSWORDS.items()}
    yield api
    stop_api_server(api)


def _history(server, dag_id, user="analyst", limit=100):
    return server.json(f"/clarify/api/dags/{dag_id}/history?limit={limit}", token=server.tokens[user])


# --- the plugin on the server -----------------------------------------------------------------------


def test_the_server_lists_the_plugin_with_its_app_and_views(server):
    status, body = server.json("/api/v2/plugins", token=server.tokens["analyst"])
    assert status == 200, body
    (plugin,) = [p for p in body["plugins"] if p["name"] == "clarify_history"]
    assert [app["url_prefix"] for app in plugin["fastapi_apps"]] == ["/clarify"]
    views = {view["destination"]: view for view in plugin["external_views"]}
    assert views["nav"]["href"] == "/clarify/"
    assert views["dag"]["href"] == "/clarify/?dag_id={DAG_ID}"
    status, page = server.request("/clarify/")
    assert status == 200
    assert b"static/history.js" in page


def test_requests_without_a_valid_token_are_refused(server):
    for path in ("/clarify/api/dags", "/clarify/api/dags/history_audit/history"):
        assert server.request(path)[0] == 401
        assert server.request(path, token="not-a-jwt")[0] in (401, 403)


def test_overview_lists_the_audited_dags_each_user_may_read(server, history_db):
    status, body = server.json("/clarify/api/dags", token=server.tokens["analyst"])
    assert status == 200, body
    dags = {d["dag_id"]: d for d in body["dags"]}
    # (DAG tests that ran earlier in the same session database may have recorded audits too)
    assert {"history_audit", "history_many", "history_secret"} <= set(dags)
    assert dags["history_audit"]["audited_runs"] == 3
    assert dags["history_audit"]["last_run_id"] == history_db["audit_runs"][-1]
    # day 3: DI 0.85 is inside [0.8, 1.25] but DPPL 0.15 is outside [-0.1, 0.1]
    assert (dags["history_audit"]["verdict"], dags["history_audit"]["violations"]) == ("violated", 1)
    assert dags["history_many"]["audited_runs"] == MANY
    last = di_of_run(MANY - 1)
    assert dags["history_many"]["verdict"] == ("passed" if 0.8 <= last <= 1.25 else "violated")

    status, body = server.json("/clarify/api/dags", token=server.tokens["outsider"])
    assert status == 200
    visible = {d["dag_id"] for d in body["dags"]}
    assert {"history_audit", "history_many"} <= visible
    assert "history_secret" not in visible
    assert visible == set(dags) - {"history_secret"}


def test_a_user_who_cannot_read_a_dag_cannot_read_its_audits(server):
    assert _history(server, "history_secret", "outsider")[0] == 403
    status, body = _history(server, "history_secret", "analyst")
    assert status == 200
    assert len(body["runs"]) == 3
    run_id = body["runs"][0]["run_id"]
    report = f"/clarify/api/dags/history_secret/runs/{quote(run_id, safe='')}/tasks/bias_audit/report"
    assert server.request(report, token=server.tokens["outsider"])[0] == 403


def test_history_of_real_runs_holds_the_metrics_band_violations_and_verdicts(server, history_db):
    status, body = _history(server, "history_audit")
    assert status == 200, body
    assert [run["run_id"] for run in body["runs"]] == history_db["audit_runs"]
    series = {(s["metric"], s["facet"], s["group"]): s for s in body["metrics"]}
    di = series[("DI", "gender", "female")]
    assert di["values"] == pytest.approx(AUDIT_DI)
    assert di["violated"] == [True, True, False]
    assert di["band"] == {"lower": 0.8, "upper": 1.25}
    assert "four-fifths" in di["explain"]
    dppl = series[("DPPL", "gender", "female")]
    assert dppl["band"] == {"lower": -0.1, "upper": 0.1}
    assert dppl["violated"] == [True, True, True]
    assert [run["verdict"] for run in body["runs"]] == ["violated"] * 3
    assert [run["violations"] for run in body["runs"]] == [2, 2, 1]
    # SHAP: gender grows 0.05 a day and passes age (0.12) on day 3: the ranking changes (NDCG < 1)
    assert body["shap"]["features"][0] == "income"
    assert body["shap"]["values"]["gender"] == pytest.approx([0.05, 0.1, 0.15])
    ndcg = body["ndcg"]
    assert ndcg[0] == pytest.approx(1.0)
    assert ndcg[1] == pytest.approx(1.0)
    assert ndcg[2] < 1.0


def test_a_runs_report_is_one_click_away_and_only_reports_are_served(server, history_db):
    status, body = _history(server, "history_audit")
    run = body["runs"][0]
    assert run["reports"] == ["audit"]
    url = f"/clarify/api/dags/history_audit/runs/{quote(run['run_id'], safe='')}/tasks/audit/report"
    status, page = server.request(url, token=server.tokens["analyst"])
    assert status == 200
    assert b"Report of day 1" in page

    # A forged XCom pointing outside a report (XCom rows are user-writable) is not served.
    from airflow.models.xcom import XComModel
    from airflow.utils.session import create_session
    from sqlalchemy import select

    with create_session() as session:
        row = session.scalars(
            select(XComModel).where(XComModel.dag_id == "history_many", XComModel.key == HISTORY_XCOM_KEY,
                                    XComModel.task_id == "bias_audit").limit(1)
        ).one()  # fmt: skip
        forged = json.loads(row.value) if isinstance(row.value, str) else dict(row.value)
        forged["report_uri"] = str(history_db["output"].parent / "passwords.json")
        row.value = XComModel.serialize_value(forged)
        run_id = row.run_id
    path = f"/clarify/api/dags/history_many/runs/{quote(run_id, safe='')}/tasks/bias_audit/report"
    assert server.request(path, token=server.tokens["analyst"])[0] == 404


def test_many_runs_come_back_newest_window_first_to_last(server):
    status, body = _history(server, "history_many", limit=MANY)
    assert status == 200
    assert len(body["runs"]) == MANY
    (di,) = [s for s in body["metrics"] if s["metric"] == "DI"]
    assert di["values"] == pytest.approx([di_of_run(i) for i in range(MANY)])
    assert di["violated"] == [not 0.8 <= di_of_run(i) <= 1.25 for i in range(MANY)]

    status, window = _history(server, "history_many", limit=50)
    assert [r["run_id"] for r in window["runs"]] == [r["run_id"] for r in body["runs"][-50:]]
    assert _history(server, "history_many", limit=0)[0] == 422
    assert _history(server, "history_many", limit=MANY + 1)[0] == 422


# --- the page in headless Chromium ------------------------------------------------------------------


def test_history_page_renders_the_charts_in_headless_chromium(server, history_db, tmp_path):
    from tests.support.chromium import Browser

    with Browser(tmp_path / "profile") as browser:
        browser.call("Network.setCookie", name="_token", value=server.tokens["analyst"], url=server.base_url)
        browser.open(f"{server.base_url}/clarify/", ready="document.body.dataset.ready")
        overview = browser.evaluate(
            "[...document.querySelectorAll('#overview tr[data-dag]')].map(r => [r.dataset.dag, "
            "r.querySelector('.badge').textContent])"
        )
        assert {"history_audit", "history_many", "history_secret"} <= {dag for dag, _ in overview}
        assert dict(overview)["history_audit"] == "violated"

        browser.open(f"{server.base_url}/clarify/?dag_id=history_audit", ready="document.body.dataset.ready")
        assert browser.evaluate("document.body.dataset.ready") == "true"
        charts = browser.evaluate(
            "[...document.querySelectorAll('#metric-charts figure')].map(f => ({"
            "title: f.querySelector('figcaption').textContent,"
            "points: f.querySelectorAll('circle.point').length,"
            "violated: f.querySelectorAll('circle.point.violated').length,"
            "bands: f.querySelectorAll('rect.band').length}))"
        )
        by_metric = {c["title"].split(" · ")[0]: c for c in charts}
        assert set(by_metric) == {"DI", "DPPL"}
        assert (by_metric["DI"]["points"], by_metric["DI"]["violated"], by_metric["DI"]["bands"]) == (3, 2, 1)
        assert (by_metric["DPPL"]["points"], by_metric["DPPL"]["violated"]) == (3, 3)
        assert browser.evaluate("document.querySelectorAll('#shap-charts figure').length") == 3
        assert browser.evaluate("document.querySelectorAll('#ndcg-chart circle.point').length") == 3
        assert browser.evaluate("document.querySelectorAll('#verdicts span.violated').length") == 3
        # clicking the first run selects it and offers its report
        browser.evaluate("document.querySelector('#verdicts span').click()")
        selected = browser.evaluate("document.getElementById('selected').textContent")
        assert history_db["audit_runs"][0] in selected
        link = browser.evaluate("document.querySelector('#selected a.report-link').href")
        assert link.endswith("/tasks/audit/report")
        browser.screenshot(ARTIFACTS / "history-page.png")
        assert browser.console_errors == []

        # the unauthorised user sees the refusal, not data
        browser.call("Network.setCookie", name="_token", value=server.tokens["outsider"], url=server.base_url)
        browser.open(f"{server.base_url}/clarify/?dag_id=history_secret", ready="document.body.dataset.ready")
        assert browser.evaluate("document.body.dataset.ready") == "error"
        assert "not allowed" in browser.evaluate("document.getElementById('status').textContent")
        assert browser.evaluate("document.querySelectorAll('figure').length") == 0
        # the only console message is the browser's note of the refused request
        assert browser.console_errors
        assert all("403" in e for e in browser.console_errors)
    assert (ARTIFACTS / "history-page.png").stat().st_size > 20_000
