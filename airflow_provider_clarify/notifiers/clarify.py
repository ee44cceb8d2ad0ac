"""``ClarifyViolationNotifier``: a concise violation summary to Slack and/or e-mail when a gate fails.

Use it as the gate's ``on_failure_callback``::

    gate = ClarifyCheckOperator(
        ...,
        on_failure_callback=ClarifyViolationNotifier(slack_webhook_conn_id="slack_fairness"),
    )

The message names each violated metric with its facet, value and accepted band, and links the run's
log and the DAG's fairness-history page. Sending goes through the Slack provider's
``SlackWebhookHook`` and the SMTP provider's ``SmtpHook``: the credentials live in Airflow
connections, as for every other alert; this module handles none. Cheap to import: the hooks load
when a message is sent.
"""

from __future__ import annotations

import html
from collections.abc import Iterable, Mapping, Sequence
from typing import Any
from urllib.parse import quote

from airflow.sdk import BaseNotifier

from airflow_provider_clarify.history.summary import json_number

#: Violations listed one per line; the rest are counted.
DEFAULT_MAX_VIOLATIONS = 5


def _violations_from_context(context: Mapping[str, Any]) -> list[dict[str, Any]]:
    """The failed gate's violations: from the exception it raised, else from its ``violations`` XCom."""
    outcome = getattr(context.get("exception"), "outcome", None)
    if outcome is not None and getattr(outcome, "violations", None) is not None:
        return [v.to_dict() if hasattr(v, "to_dict") else dict(v) for v in outcome.violations]
    ti = context.get("ti")
    if ti is None:
        return []
    pulled = ti.xcom_pull(task_ids=ti.task_id, key="violations")
    return list(pulled or [])


def _value_text(violation: Mapping[str, Any]) -> str:
    value, text = json_number(violation.get("value"))
    if value is not None:
        return f"{value:.4g}"
    return text or str(violation.get("reason") or "missing")


def violation_line(violation: Mapping[str, Any]) -> str:
    """``DI (post_training, gender=female) = 0.331, outside [0.8, 1.25]``"""
    scope = [str(violation[k]) for k in ("stage",) if violation.get(k)]
    if violation.get("facet"):
        group = violation.get("group")
        scope.append(f"{violation['facet']}={group}" if group else str(violation["facet"]))
    where = f" ({', '.join(scope)})" if scope else ""
    bound = violation.get("bound")
    band = f", outside {bound}" if bound else ""
    reason = violation.get("reason")
    why = f" [{reason}]" if reason and reason not in ("threshold", "outside") and not bound else ""
    return f"{violation.get('metric', '?')}{where} = {_value_text(violation)}{band}{why}"


def violation_summary(
    dag_id: str,
    run_id: str,
    task_id: str,
    violations: Sequence[Mapping[str, Any]],
    *,
    run_url: str | None = None,
    history_url: str | None = None,
    max_violations: int = DEFAULT_MAX_VIOLATIONS,
) -> str:
    """The plain-text message: a headline, one line per violation (at most ``max_violations``), links."""
    count = len(violations)
    noun = "violation" if count == 1 else "violations"
    lines = [f"Fairness gate {task_id} failed in {dag_id} (run {run_id}): {count} {noun}"]
    lines += [f"- {violation_line(v)}" for v in violations[:max_violations]]
    if count > max_violations:
        lines.append(f"- ... and {count - max_violations} more")
    if not violations:
        lines.append("- no violation was recorded: the gate failed for another reason (see the log)")
    if run_url:
        lines.append(f"Log: {run_url}")
    if history_url:
        lines.append(f"History: {history_url}")
    return "\n".join(lines)


class ClarifyViolationNotifier(BaseNotifier):
    """Send a fairness gate's violations to a Slack webhook and/or by e-mail.

    :param slack_webhook_conn_id: a ``slackwebhook`` connection (Slack provider); ``None`` = no Slack.
    :param smtp_conn_id: an ``smtp`` connection (SMTP provider); used when ``to`` is set.
    :param to: e-mail recipients; ``None`` = no e-mail.
    :param from_email: sender address (default: the SMTP connection's).
    :param subject: e-mail subject (templated; default names the DAG and the gate).
    :param base_url: the Airflow UI's address for the links (default: ``[api] base_url``).
    :param max_violations: violations listed one per line; the rest are counted.
    """

    template_fields = ("slack_webhook_conn_id", "smtp_conn_id", "to", "from_email", "subject", "base_url")

    def __init__(
        self,
        *,
        slack_webhook_conn_id: str | None = None,
        smtp_conn_id: str = "smtp_default",
        to: str | Iterable[str] | None = None,
        from_email: str | None = None,
        subject: str | None = None,
        base_url: str | None = None,
        max_violations: int = DEFAULT_MAX_VIOLATIONS,
    ):
        super().__init__()
        if not slack_webhook_conn_id and not to:
            raise ValueError(
                "ClarifyViolationNotifier sends nowhere: set slack_webhook_conn_id (a Slack incoming-webhook "
                "connection) and/or to (e-mail recipients, sent through smtp_conn_id)"
            )
        self.slack_webhook_conn_id = slack_webhook_conn_id
        self.smtp_conn_id = smtp_conn_id
        self.to = to
        self.from_email = from_email
        self.subject = subject
        self.base_url = base_url
        self.max_violations = max_violations

    def _base_url(self) -> str:
        if self.base_url:
            return self.base_url.rstrip("/")
        from airflow.configuration import conf

        return conf.get("api", "base_url", fallback="http://localhost:8080").rstrip("/")

    def message(self, context: Mapping[str, Any]) -> str:
        """The summary for this failure (what :meth:`notify` sends)."""
        ti = context["ti"]
        base = self._base_url()
        run_url = f"{base}/dags/{quote(ti.dag_id)}/runs/{quote(ti.run_id)}/tasks/{quote(ti.task_id)}"
        history_url = f"{base}/clarify/?dag_id={quote(ti.dag_id)}"
        return violation_summary(
            ti.dag_id,
            ti.run_id,
            ti.task_id,
            _violations_from_context(context),
            run_url=run_url,
            history_url=history_url,
            max_violations=self.max_violations,
        )

    def notify(self, context: Any) -> None:
        text = self.message(context)
        if self.slack_webhook_conn_id:
            from airflow.providers.slack.hooks.slack_webhook import SlackWebhookHook

            SlackWebhookHook(slack_webhook_conn_id=self.slack_webhook_conn_id).send_text(text)
        if self.to:
            from airflow.providers.smtp.hooks.smtp import SmtpHook

            ti = context["ti"]
            subject = self.subject or f"[Airflow] fairness gate {ti.task_id} failed in {ti.dag_id}"
            body = f"<pre>{html.escape(text)}</pre>"
            with SmtpHook(smtp_conn_id=self.smtp_conn_id) as smtp:
                smtp.send_email_smtp(
                    to=self.to, subject=subject, html_content=body, from_email=self.from_email
                )
