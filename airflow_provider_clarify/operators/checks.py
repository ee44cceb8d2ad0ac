"""Fairness gates for Airflow: ``ClarifyCheckOperator`` and ``ClarifyCheckBranchOperator``.

They read the ``analysis.json`` an analysis task wrote (managed Clarify container or local compute;
s3://, file:// or a local path), check it against thresholds and/or a baseline with the rules of
:mod:`airflow_provider_clarify.analysis.checks`, write Model Monitor's ``constraint_violations.json``
next to the result, push the violations to XCom, and then fail (``ClarifyCheckOperator``) or branch
(``ClarifyCheckBranchOperator``).

Baselines follow SageMaker Pipelines' ``ClarifyCheckStep`` (docs/gates.md, "Baselines: the ClarifyCheckStep lifecycle"); a *registered
baseline* location plays the role of the model registry:

==========================  ===========================  ==================================================
skip_check / register       drift check                  ``baseline_used_for_drift_check_constraints``
==========================  ===========================  ==================================================
False / False               yes, vs supplied/registered  the supplied or registered baseline (kept)
False / True                yes, vs supplied/registered  this result (written to ``registered_baseline_uri``)
True / False                no                           the supplied or registered baseline (kept)
True / True (first run)     no                           this result (written to ``registered_baseline_uri``)
==========================  ===========================  ==================================================

Cheap to import: no numpy/pandas; the hook is built only when the task runs.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import TYPE_CHECKING, Any

from airflow.providers.amazon.aws.operators.base_aws import AwsBaseOperator
from airflow.providers.amazon.aws.utils.mixins import aws_template_fields
from airflow.providers.common.compat.sdk import AirflowFailException, BaseBranchOperator

from airflow_provider_clarify.analysis.checks import (
    DEFAULT_NDCG_THRESHOLD,
    CheckOutcome,
    CheckPolicy,
    IntervalGate,
    Violation,
    check_analysis,
    known_metric,
    parse_thresholds,
)
from airflow_provider_clarify.analysis.errors import ClarifyConfigError
from airflow_provider_clarify.analysis.uncertainty import CONFIDENCE_INTERVALS_FILE, IntervalsResult
from airflow_provider_clarify.history import record_gate
from airflow_provider_clarify.hooks.clarify import ClarifyHook
from airflow_provider_clarify.locations import analysis_file_uri, join, result_folder_uri
from airflow_provider_clarify.operators._arguments import as_bool, has_template, optional_uri

if TYPE_CHECKING:
    from airflow.sdk import Context

    from airflow_provider_clarify.analysis.results import AnalysisResult

VIOLATIONS_FILE = "constraint_violations.json"

# XCom keys (named after ClarifyCheckStep's properties and execution metadata; docs/gates.md, "Outputs").
XCOM_PASSED = "passed"
XCOM_VIOLATIONS = "violations"
XCOM_VIOLATION_REPORT = "violation_report"
XCOM_CALCULATED_BASELINE = "calculated_baseline_constraints"
XCOM_BASELINE_USED = "baseline_used_for_drift_check_constraints"
XCOM_STATE = "state"  # "passed" | "violation" | "inconclusive"
XCOM_INCONCLUSIVE = "inconclusive"


class ClarifyCheckError(AirflowFailException):
    """The gate could not run (no analysis.json, no baseline where the lifecycle needs one, bad
    thresholds). Not retried: the same inputs would fail the same way."""


class ClarifyBiasViolationError(AirflowFailException):
    """The analysis result violates the gate's constraints (thresholds, bias drift or feature-attribution
    drift). Carries ``violations`` (list of :class:`Violation`), ``outcome``, ``violation_report_uri`` and
    ``analysis_result_uri``; its message is the summary table. Not retried: the result will not change.
    """

    def __init__(
        self,
        outcome: CheckOutcome,
        *,
        analysis_result_uri: str,
        violation_report_uri: str | None,
    ) -> None:
        message = f"{outcome.summary()}\nAnalysis result: {analysis_result_uri}"
        if violation_report_uri:
            message += f"\nViolation report: {violation_report_uri}"
        super().__init__(message)
        self.outcome = outcome
        self.violations: list[Violation] = list(outcome.violations)
        self.analysis_result_uri = analysis_result_uri
        self.violation_report_uri = violation_report_uri


class ClarifyCheckOperator(AwsBaseOperator[ClarifyHook]):
    """Gate a model on a Clarify ``analysis.json``: thresholds, bias drift and feature-attribution drift.

    Reads the result, runs the checks, writes ``constraint_violations.json`` (Model Monitor schema)
    next to the result when there are violations, pushes the outcome to XCom and, with violations and
    ``fail_on_violation``, fails with :class:`ClarifyBiasViolationError` (a table of metric, facet,
    group, value and bound in the log). Baselines follow ClarifyCheckStep's lifecycle (module docstring).

    :param analysis_result_uri: the analysis_result folder or its ``analysis.json`` (s3://, file:// or a
        local path); usually the XComArg of an analysis task. (templated)
    :param thresholds: bounds per metric, optionally per stage/facet/group, e.g.
        ``{"DPPL": (-0.1, 0.1), "DI": "(0.8, 1.25]"}``; see :mod:`airflow_provider_clarify.analysis.checks`.
        (templated)
    :param supplied_baseline_constraints: a baseline ``analysis.json`` (folder or file) for the drift
        checks; when given it always wins over the registered baseline. (templated)
    :param registered_baseline_uri: where the current baseline lives (folder or ``.json`` file), the
        stand-in for the model registry: used for the drift checks when nothing is supplied, and
        overwritten with this result when ``register_new_baseline``. (templated)
    :param register_new_baseline: write this result as the new baseline at ``registered_baseline_uri``
        (only when the check passed or was skipped: a result with violations never becomes the
        baseline). (templated)
    :param skip_check: run no check at all (thresholds and drift); the baseline lifecycle still
        applies. (templated)
    :param fail_on_violation: fail the task when there are violations (default ``True``); with ``False``
        the task succeeds and the violations are in XCom and the report. (templated)
    :param policy: treatment of missing metrics, errors, NaN and infinity: a
        :class:`~airflow_provider_clarify.analysis.checks.CheckPolicy` or a dict of its fields; default:
        missing/error/NaN are violations, infinities are compared as numbers. (templated)
    :param drift_tolerance: bias drift violates when ``|current| > |baseline| + drift_tolerance`` (0).
    :param drift_metrics: only these metrics in the bias drift check (default: every baseline metric).
    :param drift_neutral_values: per-metric value that counts as "no bias" for the drift rule (default
        zero for all, as Model Monitor); ``{"DI": 1.0}`` makes DI drift mean "farther from 1".
    :param ndcg_threshold: feature-attribution drift violates when NDCG < this (0.9, Model Monitor's).
    :param violation_report_uri: where to write ``constraint_violations.json``; default: next to the
        result (``<analysis_result>/constraint_violations.json``). (templated)
    :param interval_mode: ``"point"`` (default: the reported value decides, as Clarify),
        ``"outside"`` (a violation only when the metric's confidence interval lies wholly outside the
        bound) or ``"inconclusive"`` (outside: violation; inside: pass; straddling a bound:
        *inconclusive*, pushed to XCom ``inconclusive`` and ``state``, not a failure). Needs
        ``confidence_intervals.json`` next to ``analysis.json`` (run the analysis with
        ``confidence_intervals``); see ``docs/uncertainty.md``. (templated)
    :param min_group_size: a metric of a facet group (or rest) with fewer rows is *inconclusive*
        rather than violated; needs ``confidence_intervals.json`` (it holds the group sizes). (templated)
    :param fail_on_inconclusive: fail (like a violation) when the outcome is inconclusive; default
        ``False``: the task succeeds and logs the inconclusive findings. (templated)
    :param aws_conn_id: AWS connection for s3:// locations (unused for local paths).
    """

    aws_hook_class = ClarifyHook
    template_fields: Sequence[str] = aws_template_fields(
        "analysis_result_uri",
        "thresholds",
        "supplied_baseline_constraints",
        "registered_baseline_uri",
        "register_new_baseline",
        "skip_check",
        "fail_on_violation",
        "policy",
        "violation_report_uri",
        "interval_mode",
        "min_group_size",
        "fail_on_inconclusive",
    )
    template_fields_renderers = {"thresholds": "py", "policy": "py"}
    template_ext: Sequence[str] = ()
    ui_color = "#f6d5a8"

    def __init__(
        self,
        *,
        analysis_result_uri: str,
        thresholds: Mapping[str, Any] | Iterable[Any] | None = None,
        supplied_baseline_constraints: str | None = None,
        registered_baseline_uri: str | None = None,
        register_new_baseline: bool | str = False,
        skip_check: bool | str = False,
        fail_on_violation: bool | str = True,
        policy: CheckPolicy | Mapping[str, Any] | None = None,
        drift_tolerance: float = 0.0,
        drift_metrics: Iterable[str] | None = None,
        drift_neutral_values: Mapping[str, float] | None = None,
        ndcg_threshold: float = DEFAULT_NDCG_THRESHOLD,
        violation_report_uri: str | None = None,
        interval_mode: str = "point",
        min_group_size: int | str | None = None,
        fail_on_inconclusive: bool | str = False,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        self.interval_mode = interval_mode
        self.min_group_size = min_group_size
        self.fail_on_inconclusive = fail_on_inconclusive
        self.analysis_result_uri = analysis_result_uri
        self.thresholds = thresholds
        self.supplied_baseline_constraints = supplied_baseline_constraints
        self.registered_baseline_uri = registered_baseline_uri
        self.register_new_baseline = register_new_baseline
        self.skip_check = skip_check
        self.fail_on_violation = fail_on_violation
        self.policy = policy
        self.drift_tolerance = drift_tolerance
        self.drift_metrics = list(drift_metrics) if drift_metrics is not None else None
        self.drift_neutral_values = dict(drift_neutral_values) if drift_neutral_values else None
        self.ndcg_threshold = ndcg_threshold
        self.violation_report_uri = violation_report_uri
        self._validate_static_arguments()

    # ---- validation ------------------------------------------------------------------------------

    def _validate_static_arguments(self) -> None:
        """Fail at DAG import for mistakes visible before rendering (templated values wait for execute)."""
        if self.thresholds is not None and not has_template(self.thresholds):
            parse_thresholds(self.thresholds)
        elif self.thresholds is not None:
            _check_literal_metric_names(self.thresholds)
        for name in self.drift_metrics or ():
            known_metric(str(name), "drift_metrics")
        for name in self.drift_neutral_values or {}:
            known_metric(str(name), f"drift_neutral_values.{name}")
        if self.policy is not None and not has_template(self.policy):
            CheckPolicy.coerce(self.policy)
        if not has_template(self.interval_mode) and not has_template(self.min_group_size):
            gate = IntervalGate(self.interval_mode, self.min_group_size)  # type: ignore[arg-type]
            if gate.needs_intervals and not self.thresholds:
                raise ClarifyConfigError(
                    "interval_mode / min_group_size apply to thresholds, and no thresholds are given",
                    field="interval_mode",
                    value=self.interval_mode,
                    accepted="thresholds=... with interval_mode/min_group_size, or the defaults",
                )
        if not isinstance(self.drift_tolerance, int | float) or not 0 <= self.drift_tolerance < float("inf"):
            raise ClarifyConfigError(
                f"drift_tolerance is {self.drift_tolerance!r}; expected a finite number >= 0",
                field="drift_tolerance",
                value=self.drift_tolerance,
                accepted="a finite number >= 0",
            )
        if not isinstance(self.ndcg_threshold, int | float) or not 0 <= self.ndcg_threshold <= 1:
            raise ClarifyConfigError(
                f"ndcg_threshold is {self.ndcg_threshold!r}; NDCG lies in [0, 1]",
                field="ndcg_threshold",
                value=self.ndcg_threshold,
                accepted="a number between 0 and 1 (Model Monitor uses 0.9)",
            )
        if isinstance(self.register_new_baseline, bool) and self.register_new_baseline:
            if self.registered_baseline_uri is None:
                raise ClarifyConfigError(
                    "register_new_baseline=True needs registered_baseline_uri (where to write the new baseline)",
                    field="registered_baseline_uri",
                    value=None,
                    accepted="an s3:// URI, file:// URI or local path (folder or .json file)",
                )
        nothing_to_check = (
            not self.thresholds
            and self.supplied_baseline_constraints is None
            and self.registered_baseline_uri is None
        )
        if nothing_to_check and self.skip_check is False:
            raise ClarifyConfigError(
                "the check has nothing to check: give thresholds, supplied_baseline_constraints or "
                "registered_baseline_uri (or skip_check=True)",
                field="thresholds",
                value=self.thresholds,
                accepted="a threshold spec and/or a baseline location",
            )

    def _settings(self) -> dict[str, Any]:
        """Rendered arguments, validated; bad ones raise ClarifyCheckError naming the field."""
        try:
            result_uri = optional_uri("analysis_result_uri", self.analysis_result_uri)
            if result_uri is None:
                raise ClarifyConfigError(
                    "analysis_result_uri is empty; pass the analysis task's output, e.g. analysis_task.output",
                    field="analysis_result_uri",
                    value=self.analysis_result_uri,
                    accepted="an s3:// URI, file:// URI or local path",
                )
            settings = {
                "result_uri": result_uri,
                "rules": parse_thresholds(self.thresholds) if self.thresholds else [],
                "policy": CheckPolicy.coerce(self.policy),
                "supplied": optional_uri("supplied_baseline_constraints", self.supplied_baseline_constraints),
                "registered": optional_uri("registered_baseline_uri", self.registered_baseline_uri),
                "register": as_bool("register_new_baseline", self.register_new_baseline),
                "skip": as_bool("skip_check", self.skip_check),
                "fail": as_bool("fail_on_violation", self.fail_on_violation),
                "report": optional_uri("violation_report_uri", self.violation_report_uri),
                "gate": IntervalGate(
                    str(self.interval_mode).strip(),  # type: ignore[arg-type]
                    None if self.min_group_size in (None, "", "None") else self.min_group_size,  # type: ignore[arg-type]
                ),
                "fail_inconclusive": as_bool("fail_on_inconclusive", self.fail_on_inconclusive),
            }
        except ClarifyConfigError as err:
            raise ClarifyCheckError(f"Invalid ClarifyCheckOperator argument: {err}") from err
        if settings["register"] and settings["registered"] is None:
            raise ClarifyCheckError(
                "register_new_baseline is true but registered_baseline_uri is not set; "
                "give the location where the new baseline should be written"
            )
        return settings

    # ---- the gate ----------------------------------------------------------------------------------

    def _read(self, uri: str, what: str) -> AnalysisResult:
        try:
            return self.hook.read_analysis_result(uri, intervals=False)
        except FileNotFoundError as err:
            raise ClarifyCheckError(f"No {what} at {analysis_file_uri(uri)}: {err}") from err
        except ClarifyConfigError as err:
            raise ClarifyCheckError(
                f"The {what} at {analysis_file_uri(uri)} is not a valid analysis.json: {err}"
            ) from err

    def _read_intervals(self, result_uri: str) -> IntervalsResult:
        """The ``confidence_intervals.json`` next to the result (the interval gate needs it)."""
        uri = join(result_folder_uri(result_uri), CONFIDENCE_INTERVALS_FILE)
        try:
            intervals = self.hook.read_intervals(result_uri)
        except ClarifyConfigError as err:
            raise ClarifyCheckError(f"{uri} is not a valid confidence-intervals document: {err}") from err
        if intervals is None:
            raise ClarifyCheckError(
                f"interval_mode/min_group_size need {uri}, which does not exist: run the analysis with "
                "confidence_intervals=... (compute='local'), or use interval_mode='point' without "
                "min_group_size"
            )
        return intervals

    def run_gate(self, context: Context) -> tuple[CheckOutcome, dict[str, Any]]:
        """Run the checks and the baseline lifecycle; write the report; push XComs. Never raises on
        violations (the caller decides: fail or branch)."""
        cfg = self._settings()
        result_uri: str = cfg["result_uri"]
        result_file = analysis_file_uri(result_uri)
        result = self._read(result_uri, "analysis result")
        gate: IntervalGate = cfg["gate"]
        intervals = (
            self._read_intervals(result_uri)
            if gate.needs_intervals and cfg["rules"] and not cfg["skip"]
            else None
        )
        hook = self.hook

        supplied_file = analysis_file_uri(cfg["supplied"]) if cfg["supplied"] else None
        registered_file = analysis_file_uri(cfg["registered"]) if cfg["registered"] else None
        registered_exists = bool(registered_file) and hook.exists(registered_file)
        existing_baseline = supplied_file or (registered_file if registered_exists else None)
        if registered_file and not existing_baseline:
            if not cfg["skip"]:
                raise ClarifyCheckError(
                    f"No baseline at {registered_file} to check drift against. On the first run (no baseline "
                    "yet) set skip_check=True and register_new_baseline=True, or pass "
                    "supplied_baseline_constraints."
                )
            if not cfg["register"]:
                raise ClarifyCheckError(
                    f"skip_check=True with register_new_baseline=False carries the existing baseline forward, "
                    f"but there is none at {registered_file}. Set register_new_baseline=True to register this "
                    "result as the first baseline."
                )

        if cfg["skip"]:
            self.log.warning("skip_check=True: no threshold or drift check runs on %s", result_file)
            outcome = CheckOutcome(notes=("check skipped (skip_check=True)",))
        else:
            baseline = self._read(existing_baseline, "baseline") if existing_baseline else None
            if existing_baseline:
                self.log.info("Checking drift against the baseline %s", existing_baseline)
            try:
                outcome = check_analysis(
                    result,
                    thresholds=cfg["rules"],
                    baseline=baseline,
                    policy=cfg["policy"],
                    drift_tolerance=self.drift_tolerance,
                    drift_metrics=self.drift_metrics,
                    drift_neutral_values=self.drift_neutral_values,
                    ndcg_threshold=self.ndcg_threshold,
                    intervals=intervals,
                    interval_gate=gate,
                )
            except ClarifyConfigError as err:  # a facet/group the result does not have: nothing written
                raise ClarifyCheckError(f"Invalid ClarifyCheckOperator argument: {err}") from err
            if outcome.checked == 0:
                self.log.warning(
                    "The check compared nothing: no rule matched a metric of %s and the baseline shares no "
                    "metric with it. Check metric names and facets.",
                    result_file,
                )
            for note in outcome.notes:
                self.log.info("Note: %s", note)

        report_uri = cfg["report"] or join(result_folder_uri(result_uri), VIOLATIONS_FILE)
        if outcome.passed:
            if hook.exists(report_uri):
                self.log.info("Removing the stale violation report %s", report_uri)
                hook.delete(report_uri)
            written_report = None
        else:
            hook.write_bytes(report_uri, outcome.constraint_violations_json().encode("utf-8"))
            self.log.info("Wrote the violation report %s", report_uri)
            written_report = report_uri

        if cfg["register"]:
            if outcome.state == "passed":  # neither violations nor inconclusive findings
                hook.write_bytes(registered_file, hook.read_bytes(result_file))  # type: ignore[arg-type]
                self.log.info("Registered %s as the new baseline at %s", result_file, registered_file)
                baseline_used = registered_file
            else:
                self.log.warning(
                    "Not registering %s as the new baseline: it is %s; the baseline stays %s",
                    result_file,
                    "in violation" if outcome.violations else "inconclusive",
                    existing_baseline,
                )
                baseline_used = existing_baseline
        else:
            baseline_used = existing_baseline

        summary = {
            "passed": outcome.passed,
            XCOM_STATE: outcome.state,
            "inconclusive_count": len(outcome.inconclusive),
            "skipped": cfg["skip"],
            "checked": outcome.checked,
            "violation_count": len(outcome.violations),
            "analysis_result_uri": result_uri,
            XCOM_VIOLATION_REPORT: written_report,
            XCOM_CALCULATED_BASELINE: result_file,
            XCOM_BASELINE_USED: baseline_used,
        }
        ti = context["ti"]
        ti.xcom_push(key=XCOM_VIOLATIONS, value=[v.to_dict() for v in outcome.violations])
        ti.xcom_push(key=XCOM_PASSED, value=outcome.passed)
        ti.xcom_push(key=XCOM_STATE, value=outcome.state)
        ti.xcom_push(key=XCOM_INCONCLUSIVE, value=[v.to_dict() for v in outcome.inconclusive])
        ti.xcom_push(key=XCOM_VIOLATION_REPORT, value=written_report)
        ti.xcom_push(key=XCOM_CALCULATED_BASELINE, value=result_file)
        ti.xcom_push(key=XCOM_BASELINE_USED, value=baseline_used)
        verdict = "skipped" if cfg["skip"] else outcome.passed
        record_gate(context, verdict, outcome.violations, cfg["rules"], result_uri, result)  # history

        if outcome.state == "passed":
            self.log.info("%s", outcome.summary())
        else:
            self.log.warning("%s", outcome.summary())
        return outcome, summary

    def execute(self, context: Context) -> dict[str, Any]:
        outcome, summary = self.run_gate(context)
        fail = not outcome.passed or (
            outcome.state == "inconclusive" and as_bool("fail_on_inconclusive", self.fail_on_inconclusive)
        )
        if fail and as_bool("fail_on_violation", self.fail_on_violation):
            raise ClarifyBiasViolationError(
                outcome,
                analysis_result_uri=summary["analysis_result_uri"],
                violation_report_uri=summary[XCOM_VIOLATION_REPORT],
            )
        return summary


def _check_literal_metric_names(thresholds: Any) -> None:
    """Metric names that are already literal in a spec whose bounds hold Jinja (dict keys are never
    rendered): a misspelled name fails at DAG import even when the bounds come from a template."""
    if isinstance(thresholds, Mapping):
        for name in thresholds:
            if isinstance(name, str) and not has_template(name):
                known_metric(name, f"thresholds.{name}")
    elif isinstance(thresholds, list | tuple):
        for index, item in enumerate(thresholds):
            name = item.get("metric") if isinstance(item, Mapping) else None
            if isinstance(name, str) and not has_template(name):
                known_metric(name, f"thresholds[{index}].metric")


class ClarifyCheckBranchOperator(ClarifyCheckOperator, BaseBranchOperator):
    """The same gate as :class:`ClarifyCheckOperator`, but it routes instead of failing.

    Follows ``on_pass`` when the result passes (or the check is skipped) and ``on_violation``
    otherwise; every other direct downstream task is skipped. The violations are in XCom
    (key ``violations``) and in ``constraint_violations.json`` for the alert task to use.

    :param on_pass: task id(s) (or task group ids) to run when there is no violation, e.g. the
        deployment (``SageMakerEndpointOperator``).
    :param on_violation: task id(s) to run when there are violations, e.g. an alert.
    :param on_inconclusive: task id(s) to run when nothing violates but some finding is
        inconclusive (see ``interval_mode`` / ``min_group_size``), e.g. a request for more data or a
        human review; default: ``on_pass``.
    """

    template_fields: Sequence[str] = tuple(
        f
        for f in ClarifyCheckOperator.template_fields
        if f not in ("fail_on_violation", "fail_on_inconclusive")
    )

    def __init__(
        self,
        *,
        on_pass: str | Iterable[str],
        on_violation: str | Iterable[str],
        on_inconclusive: str | Iterable[str] | None = None,
        **kwargs: Any,
    ) -> None:
        if kwargs.get("fail_on_violation"):
            raise ValueError(
                "ClarifyCheckBranchOperator routes to on_violation instead of failing; "
                "drop fail_on_violation (or use ClarifyCheckOperator to fail the task)"
            )
        kwargs["fail_on_violation"] = False
        super().__init__(**kwargs)
        self.on_pass = on_pass
        self.on_violation = on_violation
        self.on_inconclusive = on_inconclusive

    def choose_branch(self, context: Context) -> str | Iterable[str]:
        outcome, _ = self.run_gate(context)
        branch = {
            "passed": self.on_pass,
            "violation": self.on_violation,
            "inconclusive": self.on_inconclusive if self.on_inconclusive is not None else self.on_pass,
        }[outcome.state]
        self.log.info("Gate %s: following %s", outcome.state, branch)
        return branch

    def execute(self, context: Context) -> Any:
        return self.do_branch(context, self.choose_branch(context))
