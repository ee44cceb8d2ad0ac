"""Synthetic rows ``h(x, b, S)`` for Kernel SHAP, and the loop that evaluates and attributes them.

``h(x, b, S)`` takes each explained feature from the record ``x`` when it is in the coalition ``S``
and from the baseline row ``b`` otherwise (reference §9.2). Features that are not explained
(``features_to_explain`` leaves them out) always keep the record's value.

:func:`explain_group` evaluates a group of records that share one coalition plan: the synthetic rows
of as many records as fit in one stacked matrix go to the model in ONE call, then
``v(S) = mean_k f(h(x, b_k, S))`` is linked and all records x outputs are solved together.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

import numpy as np

from airflow_provider_clarify.engine.explain.coalitions import CoalitionPlan
from airflow_provider_clarify.engine.explain.kernel_shap import apply_link, solve_shap
from airflow_provider_clarify.engine.explain.model_calls import ModelCaller


class RowBuilder(Protocol):
    """Builds model-input rows for a set of records of one group."""

    num_baseline_rows: int
    num_columns: int
    #: True when the empty coalition is the baseline itself for every record.
    shares_empty_coalition: bool

    def coalition_rows(self, records: np.ndarray, masks: np.ndarray) -> np.ndarray:
        """``(len(records) * C * K, m)`` rows, ordered record, coalition, baseline row."""

    def record_rows(self, records: np.ndarray) -> np.ndarray:
        """``(len(records), m)``: the records themselves (the full coalition)."""

    def empty_rows(self, records: np.ndarray) -> np.ndarray | None:
        """``(len(records) * K, m)`` rows of the empty coalition, or None when it is the same for all
        records (then :attr:`baseline_rows` is evaluated once)."""

    def baseline_rows(self) -> np.ndarray:
        """``(K, m)``: the baseline rows (the empty coalition when every feature is explained)."""


@dataclass
class GroupResult:
    """Local attributions of a group: ``values (n, k, M)``, ``base (n, k)``, ``full (n, k)``."""

    values: np.ndarray
    base: np.ndarray
    full: np.ndarray


class TabularRows:
    """Row builder for tabular records: vectorised ``np.where`` over records x coalitions x baseline.

    :param records: ``(N, m)`` feature matrix of all records.
    :param baseline: ``(K, m)`` baseline matrix of the same kind.
    :param players: column indices of the explained features (the coalition players, in order).
    """

    def __init__(self, records: np.ndarray, baseline: np.ndarray, players: list[int]) -> None:
        self.records = records
        self.baseline = baseline
        self.players = players
        self.num_baseline_rows = baseline.shape[0]
        self.num_columns = records.shape[1]
        self.all_explained = len(players) == self.num_columns
        self.shares_empty_coalition = self.all_explained

    def _full_masks(self, masks: np.ndarray) -> np.ndarray:
        if self.all_explained and self.players == list(range(self.num_columns)):
            return masks
        full = np.ones((masks.shape[0], self.num_columns), dtype=bool)
        full[:, self.players] = masks
        return full

    def coalition_rows(self, records: np.ndarray, masks: np.ndarray) -> np.ndarray:
        full = self._full_masks(masks)
        x = self.records[records]
        rows = np.where(full[None, :, None, :], x[:, None, None, :], self.baseline[None, None, :, :])
        return rows.reshape(-1, self.num_columns)

    def record_rows(self, records: np.ndarray) -> np.ndarray:
        return self.records[records]

    def empty_rows(self, records: np.ndarray) -> np.ndarray | None:
        if self.all_explained:
            return None
        return self.coalition_rows(records, np.zeros((1, len(self.players)), dtype=bool))

    def baseline_rows(self) -> np.ndarray:
        return self.baseline


def explain_group(
    records: np.ndarray,
    plan: CoalitionPlan,
    rows: RowBuilder,
    caller: ModelCaller,
    *,
    use_logit: bool,
    common_base: np.ndarray | None = None,
) -> tuple[GroupResult, np.ndarray | None]:
    """SHAP values of ``records`` (indices) that share ``plan``.

    :param common_base: ``(k,)`` averaged model output over the baseline rows when already known.
    :return: the group's result and the (possibly newly computed) common base.
    """
    c, k_rows = len(plan), rows.num_baseline_rows
    per_record = c * k_rows + 1
    shared_empty = rows.shares_empty_coalition
    if not shared_empty:
        per_record += k_rows
    chunk = max(1, caller.rows_per_call(rows.num_columns) // per_record)

    values, bases, fulls = [], [], []
    for start in range(0, len(records), chunk):
        ids = records[start : start + chunk]
        n = len(ids)
        parts = [rows.coalition_rows(ids, plan.masks), rows.record_rows(ids)]
        empty = rows.empty_rows(ids)
        if empty is not None:
            parts.append(empty)
        need_base = shared_empty and common_base is None
        if need_base:
            parts.append(rows.baseline_rows())
        scores = caller.scores(np.concatenate(parts) if len(parts) > 1 else parts[0])
        k = scores.shape[1]
        offset = n * c * k_rows
        coal = scores[:offset].reshape(n, c, k_rows, k).mean(axis=2)
        full = scores[offset : offset + n]
        offset += n
        if empty is not None:
            base = apply_link(
                scores[offset : offset + n * k_rows].reshape(n, k_rows, k).mean(axis=1), use_logit
            )
            offset += n * k_rows
        else:
            if need_base:
                common_base = scores[offset : offset + k_rows].mean(axis=0)
            base = np.broadcast_to(apply_link(common_base, use_logit), (n, k))
        full = apply_link(full, use_logit)
        y = apply_link(coal, use_logit).transpose(1, 0, 2).reshape(c, n * k)
        phi = solve_shap(plan, y, base.reshape(-1), full.reshape(-1))
        values.append(phi.reshape(n, k, plan.num_players))
        bases.append(np.array(base))
        fulls.append(full)
    return (
        GroupResult(values=np.concatenate(values), base=np.concatenate(bases), full=np.concatenate(fulls)),
        common_base,
    )
