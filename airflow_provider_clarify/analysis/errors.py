"""The one error type for bad Clarify configuration.

Every layer of the provider (config classes, the analysis-config validator, the job-request builder,
the operators' preflight) raises :class:`ClarifyConfigError` for configuration mistakes, so callers
catch one type and users always get the field, the offending value and what would be accepted,
before any AWS call is made.
"""

from __future__ import annotations

from typing import Any

_REPR_LIMIT = 200


def short_repr(value: Any) -> str:
    """``repr(value)`` cut to a readable length (huge baselines or header lists stay legible)."""
    try:
        text = repr(value)
    except Exception:  # a broken __repr__ must not hide the real error
        text = f"<{type(value).__name__} object>"
    if len(text) > _REPR_LIMIT:
        text = text[: _REPR_LIMIT - 3] + "..."
    return text


class ClarifyConfigError(ValueError):
    """Invalid Clarify configuration.

    A ``ValueError`` (the SageMaker SDK raises ``ValueError`` for the same mistakes, so notebook code
    that catches it keeps working).

    :param message: the full human-readable message; it names the field, the value and the fix.
    :param field: the keyword (``"agg_method"``) or JSON path (``"methods.shap.num_samples"``) at fault.
    :param value: the offending value.
    :param accepted: a short description of what would be accepted.
    :param problems: every ``(json_path, message)`` found when a whole analysis config was validated;
        for a single-field error it is ``[(field, message)]``.
    """

    def __init__(
        self,
        message: str,
        *,
        field: str | None = None,
        value: Any = None,
        accepted: str | None = None,
        problems: list[tuple[str, str]] | None = None,
    ) -> None:
        super().__init__(message)
        self.message = message
        self.field = field
        self.value = value
        self.accepted = accepted
        if problems is None:
            problems = [(field or "", message)]
        self.problems: list[tuple[str, str]] = list(problems)

    def __str__(self) -> str:
        return self.message

    def __reduce__(self):  # keep the keyword attributes through pickling (Airflow logs, XCom errors)
        return (
            _rebuild,
            (type(self), self.message, self.field, self.value, self.accepted, self.problems),
        )

    @classmethod
    def invalid(
        cls,
        field: str,
        value: Any,
        accepted: str,
        advice: str | None = None,
    ) -> ClarifyConfigError:
        """An error for one bad value: ``Invalid <field> <value>. <advice or "Accepted: ...">``."""
        tail = advice if advice is not None else f"Accepted: {accepted}."
        message = f"Invalid {field} {short_repr(value)}. {tail}"
        return cls(message, field=field, value=value, accepted=accepted)

    @classmethod
    def from_problems(
        cls,
        problems: list[tuple[str, str]],
        *,
        subject: str = "analysis_config",
        values: dict[str, Any] | None = None,
    ) -> ClarifyConfigError:
        """One error listing every ``(json_path, message)`` problem; ``field`` is the first path."""
        count = len(problems)
        lines = [f"{subject} is invalid ({count} problem{'s' if count != 1 else ''}):"]
        lines += [f"  - {path or '$'}: {message}" for path, message in problems]
        first_path = problems[0][0] if problems else None
        first_value = (values or {}).get(first_path) if first_path is not None else None
        return cls(
            "\n".join(lines),
            field=first_path,
            value=first_value,
            accepted=problems[0][1] if problems else None,
            problems=problems,
        )


class ClarifyConfigTypeError(ClarifyConfigError, TypeError):
    """A :class:`ClarifyConfigError` that is also a ``TypeError``.

    Used where the SageMaker SDK raises ``TypeError`` (``ModelPredictedLabelConfig`` with a
    ``probability_threshold`` that cannot be cast to float), so ported ``except TypeError`` code
    still catches it.
    """


def _rebuild(
    cls: type[ClarifyConfigError],
    message: str,
    field: str | None,
    value: Any,
    accepted: str | None,
    problems: list[tuple[str, str]],
) -> ClarifyConfigError:
    return cls(message, field=field, value=value, accepted=accepted, problems=problems)
