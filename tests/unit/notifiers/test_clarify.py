"""ClarifyViolationNotifier: the message's content, and a real failing gate posting it to a fake Slack webhook."""

from __future__ import annotations

import email
import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pendulum
import pytest

from airflow_provider_clarify.notifiers.clarify import (
    ClarifyViolationNotifier,
    violation_line,
    violation_summary,
)
from tests.support.dag_runs import bundled_dag, folder_with, task_states
from tests.support.paths import TEST_DATA

DI = {"metric": "DI", "stage": "post_training", "facet": "gender", "group": "female", "value": 0.5,
      "bound": "[0.8, 1.25]", "check": "threshold", "reason": "out_of_bounds"}  # fmt: skip


def test_a_violation_reads_as_metric_scope_value_and_band():
    assert violation_line(DI) == "DI (post_training, gender=female) = 0.5, outside [0.8, 1.25]"
    infinite = {**DI, "value": "Infinity"}
    assert violation_line(infinite).endswith("= +inf, outside [0.8, 1.25]")
    missing = {"metric": "AD", "facet": None, "value": None, "bound": None, "reason": "missing"}
    assert violation_line(missing) == "AD = missing [missing]"


def test_summary_lists_at_most_max_violations_and_the_links():
    many = [{**DI, "metric": f"M{i}"} for i in range(7)]
    text = violation_summary("credit", "run_1", "gate", many, run_url="http://a/log", history_url="http://a/h",
                             max_violations=3)  # fmt: skip
    lines = text.splitlines()
    assert lines[0] == "Fairness gate gate failed in credit (run run_1): 7 violations"
    assert [line.split(" ")[1] for line in lines[1:4]] == ["M0", "M1", "M2"]
    assert lines[4] == "- ... and 4 more"
    assert lines[5:] == ["Log: http://a/log", "History: http://a/h"]


def test_a_notifier_without_a_destination_is_refused():
    with pytest.raises(ValueError, match="slack_webhook_conn_id"):
        ClarifyViolationNotifier()


class _Webhook(BaseHTTPRequestHandler):
    received: list[tuple[str, dict]] = []

    def do_POST(self):
        body = self.rfile.read(int(self.headers["Content-Length"]))
        self.received.append((self.path, json.loads(body)))
        self.send_response(200)
        self.send_header("Content-Type", "text/plain")
        self.end_headers()
        self.wfile.write(b"ok")

    def log_message(self, *args):
        pass


@pytest.fixture
def fake_slack():
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Webhook)
    _Webhook.received = []
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}", _Webhook.received
    server.shutdown()
    server.server_close()


def test_a_failing_gate_posts_its_violations_to_the_slack_webhook(fake_slack, airflow_db, tmp_path, monkeypatch,
                                                                  tmp_path_factory):  # fmt: skip
    url, received = fake_slack
    connection = {"conn_type": "slackwebhook", "password": f"{url}/services/T000/B000/XXXX"}
    monkeypatch.setenv("AIRFLOW_CONN_CLARIFY_SLACK", json.dumps(connection))
    monkeypatch.setenv("CLARIFY_ALERT_OUTPUT", str(tmp_path / "out"))
    folder = folder_with(tmp_path_factory, TEST_DATA / "history" / "clarify_alert_dag.py", "alert-dag")
    dag = bundled_dag(monkeypatch, folder, "clarify_alert", bundle_name="alert-dag")

    run = dag.test(logical_date=pendulum.datetime(2024, 3, 1, tz="UTC"))

    assert task_states(run)["fairness_gate"] == "failed"
    assert len(received) == 1
    path, payload = received[0]
    assert path == "/services/T000/B000/XXXX"
    lines = payload["text"].splitlines()
    assert lines[0] == f"Fairness gate fairness_gate failed in clarify_alert (run {run.run_id}): 1 violation"
    assert lines[1] == "- DI (post_training, gender=female) = 0.5, outside [0.8, 1.25]"
    assert "DPPL" not in payload["text"]
    assert lines[2].startswith("Log: http://airflow.example:8080/dags/clarify_alert/runs/")
    assert lines[2].endswith("/tasks/fairness_gate")
    assert lines[3] == "History: http://airflow.example:8080/clarify/?dag_id=clarify_alert"


class _TaskInstance:
    dag_id, run_id, task_id = "credit_audit", "scheduled__2024-03-05T00:00:00+00:00", "fairness_gate"

    def xcom_pull(self, task_ids, key):
        assert (task_ids, key) == ("fairness_gate", "violations")
        return [DI]


def test_the_email_goes_through_the_smtp_providers_connection(monkeypatch):
    import asyncore
    import smtpd  # the standard library's SMTP server (Python 3.11): a local sink for the test

    received = []

    class Sink(smtpd.SMTPServer):
        def process_message(self, peer, mailfrom, rcpttos, data, **kwargs):
            received.append((mailfrom, rcpttos, data.decode() if isinstance(data, bytes) else data))

    sink = Sink(("127.0.0.1", 0), None)
    thread = threading.Thread(target=asyncore.loop, kwargs={"timeout": 0.05}, daemon=True)
    thread.start()
    try:
        port = sink.socket.getsockname()[1]
        connection = {"conn_type": "smtp", "host": "127.0.0.1", "port": port,
                      "extra": {"disable_ssl": True, "disable_tls": True, "from_email": "airflow@example.com"}}  # fmt: skip
        monkeypatch.setenv("AIRFLOW_CONN_SMTP_CLARIFY", json.dumps(connection))
        notifier = ClarifyViolationNotifier(smtp_conn_id="smtp_clarify", to="fairness@example.com",
                                            base_url="http://airflow.example")  # fmt: skip
        notifier.notify({"ti": _TaskInstance()})
    finally:
        sink.close()
    ((mailfrom, rcpttos, data),) = received
    assert (mailfrom, rcpttos) == ("airflow@example.com", ["fairness@example.com"])
    message = email.message_from_string(data)
    assert message["Subject"] == "[Airflow] fairness gate fairness_gate failed in credit_audit"
    (html,) = [
        p.get_payload(decode=True).decode() for p in message.walk() if p.get_content_type() == "text/html"
    ]
    assert "- DI (post_training, gender=female) = 0.5, outside [0.8, 1.25]" in html
    assert "History: http://airflow.example/clarify/?dag_id=credit_audit" in html
