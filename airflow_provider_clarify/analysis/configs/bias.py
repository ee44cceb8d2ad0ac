""":class:`BiasConfig`: the positive label outcome and the sensitive facets (``docs/configs.md#the-classes``)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, ClassVar

from airflow_provider_clarify.analysis.configs._base import ClarifyConfig, is_template, put
from airflow_provider_clarify.analysis.errors import ClarifyConfigError, short_repr


@dataclass(eq=True, repr=True)
class BiasConfig(ClarifyConfig):
    """Sensitive groups for bias metrics (SDK ``BiasConfig``).

    Values are written as given, exactly like the SDK: pass lists (``[1]``, ``[0]``, ``[40]``). A
    scalar such as ``facet_values_or_threshold=40`` is accepted here but rejected by
    :meth:`AnalysisConfig.validate` (the schema wants a list).

    :param label_values_or_threshold: positive label value(s), or one threshold (exclusive lower
        bound) for a continuous label.
    :param facet_name: sensitive column name/index, or a list of them.
    :param facet_values_or_threshold: for one facet, ``None`` or a list; for a list of facets,
        ``None`` or a list with one entry (a list, or ``None``) per facet.
    :param group_name: subgroup column for CDDL / CDDPL (``group_variable``).
    """

    label_values_or_threshold: list[int | float | str]
    facet_name: str | int | list[str] | list[int]
    facet_values_or_threshold: Any = None
    group_name: str | int | None = None

    template_fields: ClassVar[tuple[str, ...]] = (
        "label_values_or_threshold",
        "facet_name",
        "facet_values_or_threshold",
        "group_name",
    )

    def _check(self, strict: bool) -> None:
        names = self.facet_name
        if not isinstance(names, list):
            return
        if not names:
            raise ClarifyConfigError.invalid(
                "facet_name",
                names,
                "a column name/index or a non-empty list of them",
                "Please provide at least one facet.",
            )
        values = self.facet_values_or_threshold
        if values is None or not self._ready(strict, "facet_values_or_threshold"):
            return
        try:
            matches = len(values) == len(names)
            if matches:
                [values[i] for i in range(len(names))]
        except (TypeError, KeyError, IndexError):
            raise ClarifyConfigError.invalid(
                "facet_values_or_threshold",
                values,
                f"None or a list of {len(names)} entries (one per facet)",
                f"With a list of facet names it must be None or a list with one entry per facet, "
                f"e.g. [[0], None]; got {type(values).__name__}.",
            ) from None
        if not matches:
            raise ClarifyConfigError.invalid(
                "facet_values_or_threshold",
                values,
                f"a list of {len(names)} entries (one per facet)",
                f"The number of facet names doesn't match the number of facet values "
                f"({len(names)} names {short_repr(names)}).",
            )

    def _facets(self) -> list[dict[str, Any]]:
        names = self.facet_name
        values = self.facet_values_or_threshold
        if not isinstance(names, list):
            facet: dict[str, Any] = {"name_or_index": names}
            put(facet, "value_or_threshold", values)
            return [facet]
        if values is None or is_template(values):  # unrendered template: lenient build only
            return [{"name_or_index": name} for name in names]
        facets = []
        for i, name in enumerate(names):
            facet = {"name_or_index": name}
            put(facet, "value_or_threshold", values[i])
            facets.append(facet)
        return facets

    def _build(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "label_values_or_threshold": self.label_values_or_threshold,
            "facet": self._facets(),
        }
        put(out, "group_variable", self.group_name)
        return out

    def get_config(self) -> dict[str, Any]:
        """SDK-compatible alias of :meth:`to_dict`."""
        return self.to_dict()
