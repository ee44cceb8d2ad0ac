"""Synthetic rows ``h(x, b, S)`` for Kernel SHAP, and the loop that evaluates and attributes them.

``h(x, b, S)`` takes each explained feature from the record ``x`` when it is in the coalition ``S``
and from the baseline row ``b`` otherwise (docs/explainability.md, "What is computed"). Features that are not explained
(``features_to_explain`` leaves them out) always keep the record's value.

:func:`explain_group` evaluates a group of records that share one coalition plan: the synthetic rows
of as many records as fit in one stacked matrix go to the model in ONE call, then
``v(S) = mean_k f(h(x, b_k, S))`` is linked and all records x outputs are solved together.

Speed. Kernel SHAP should cost little more than evaluating the model on its rows, so the rows of a
call are written straight into one preallocated matrix (reused for every call of the group: no
per-part arrays, no concatenation), each record's rows are one gather (:func:`write_selected_rows`),
and the baseline average is a running sum over strided views (the same additions, in the same
order, as ``mean``).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

import numpy as np

from airflow_provider_clarify.engine import progress
from airflow_provider_clarify.engine.explain.coalitions import CoalitionPlan
from airflow_provider_clarify.engine.explain.kernel_shap import apply_link, solve_shap
from airflow_provider_clarify.engine.explain.model_calls import ModelCaller


def write_selected_rows(out: np.ndarray, x: np.ndarray, baseline: np.ndarray, masks: np.ndarray) -> None:
    """``out[i, c, k, :] = where(masks[c], x[i], baseline[k])`` without temporary arrays.

    :param out: ``(n, C, K, m)`` C-contiguous destination (a view into the call's row matrix).
    :param x: ``(n, m)`` records; ``baseline``: ``(K, m)``; ``masks``: ``(C, m)`` bool.

    The rows of one record are a gather from ``[baseline rows..., record]`` with an index array that
    depends only on the coalitions, so each record costs one ``np.take`` over a long contiguous run
    (3-4x faster than ``np.where`` over the broadcast 4-D shapes, whose inner loops are only ``m``
    long). Values are copied, never computed: bit-for-bit the inputs, for any dtype.
    """
    n, c, k, m = out.shape
    if not out.flags.c_contiguous:
        raise ValueError("write_selected_rows needs a C-contiguous destination")
    columns = np.arange(m)
    source = np.where(masks[:, None, :], k * m + columns, np.arange(k)[:, None] * m + columns).reshape(-1)
    flat = out.reshape(n, c * k * m)
    candidates = np.empty(k * m + m, dtype=out.dtype)
    candidates[: k * m] = baseline.reshape(-1)
    for i in range(n):
        candidates[k * m :] = x[i]
        np.take(candidates, source, out=flat[i], mode="clip")  # indices are in range: no checks


def mean_over_baseline(scores: np.ndarray, n: int, c: int, k_rows: int) -> np.ndarray:
    """``scores.reshape(n, c, k_rows, k).mean(axis=2)``, computed as a running sum of strided views.

    Bit-for-bit equal to ``mean`` (the same left-to-right additions, then one division) and several
    times faster, because numpy's axis reduction over a short middle axis is slow.
    """
    view = scores.reshape(n, c, k_rows, -1)
    total = view[:, :, 0, :].copy()
    for j in range(1, k_rows):
        total += view[:, :, j, :]
    total /= k_rows
    return total


class RowBuilder(Protocol):
    """Builds model-input rows for a set of records of one group."""

    num_baseline_rows: int
    num_columns: int
    #: dtype of the model-input rows (float64 for numeric data, else object).
    dtype: np.dtype
    #: True when the empty coalition is the baseline itself for every record.
    shares_empty_coalition: bool

    def write_coalition_rows(self, out: np.ndarray, records: np.ndarray, masks: np.ndarray) -> None:
        """Write the ``(len(records), C, K, m)`` rows ``h(x, b_k, S_c)`` into ``out`` (a view)."""

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
    """Row builder for tabular records (see :func:`write_selected_rows`).

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
        self.dtype = np.result_type(records.dtype, baseline.dtype)
        self.all_explained = len(players) == self.num_columns
        self.shares_empty_coalition = self.all_explained

    def _full_masks(self, masks: np.ndarray) -> np.ndarray:
        if self.all_explained and self.players == list(range(self.num_columns)):
            return masks
        full = np.ones((masks.shape[0], self.num_columns), dtype=bool)
        full[:, self.players] = masks
        return full

    def write_coalition_rows(self, out: np.ndarray, records: np.ndarray, masks: np.ndarray) -> None:
        write_selected_rows(out, self.records[records], self.baseline, self._full_masks(masks))

    def coalition_rows(self, records: np.ndarray, masks: np.ndarray) -> np.ndarray:
        out = np.empty((len(records), masks.shape[0], self.num_baseline_rows, self.num_columns), self.dtype)
        self.write_coalition_rows(out, records, masks)
        return out.reshape(-1, self.num_columns)

    def record_rows(self, records: np.ndarray) -> np.ndarray:
        return self.records[records]

    def empty_rows(self, records: np.ndarray) -> np.ndarray | None:
        if self.all_explained:
            return None
        return self.coalition_rows(records, np.zeros((1, len(self.players)), dtype=bool))

    def baseline_rows(self) -> np.ndarray:
        return self.baseline


@dataclass(frozen=True)
class _CallLayout:
    """Where each part of one model call sits in the stacked row matrix (row offsets)."""

    n: int  # records in the call
    coalitions: int  # end of the n * C * K coalition rows
    records: int  # end of the n record rows (full coalition)
    empty: int  # end of the n * K empty-coalition rows (== records when the empty coalition is shared)
    total: int  # end of the K baseline rows (== empty when the common base is already known)


def _layout(n: int, c: int, k_rows: int, own_empty: bool, need_base: bool) -> _CallLayout:
    coalitions = n * c * k_rows
    records = coalitions + n
    empty = records + (n * k_rows if own_empty else 0)
    return _CallLayout(n, coalitions, records, empty, empty + (k_rows if need_base else 0))


def records_per_call(plan: CoalitionPlan, rows: RowBuilder, caller: ModelCaller) -> int:
    """How many records :func:`explain_group` stacks into one model call (its chunks of records).

    The Spark backend cuts the records at multiples of this, so every model call and every solve
    sees the same rows as on one machine.
    """
    own_empty = not rows.shares_empty_coalition
    per_record = len(plan) * rows.num_baseline_rows + 1 + (rows.num_baseline_rows if own_empty else 0)
    return max(1, caller.rows_per_call(rows.num_columns) // per_record)


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

    Each model call gets one matrix, laid out as: the coalition rows (record, coalition, baseline
    row), the records themselves, the empty-coalition rows per record (only when some features are
    not explained) and, once, the baseline rows.

    :param common_base: ``(k,)`` averaged model output over the baseline rows when already known.
    :return: the group's result and the (possibly newly computed) common base.
    """
    c, k_rows, m = len(plan), rows.num_baseline_rows, rows.num_columns
    own_empty = not rows.shares_empty_coalition
    chunk = records_per_call(plan, rows, caller)
    no_players = np.zeros((1, plan.num_players), dtype=bool)

    buffer: np.ndarray | None = None
    values, bases, fulls = [], [], []
    for start in range(0, len(records), chunk):
        ids = records[start : start + chunk]
        n = len(ids)
        need_base = not own_empty and common_base is None
        at = _layout(n, c, k_rows, own_empty, need_base)
        if buffer is None or buffer.shape[0] < at.total:
            # sized for a full chunk (plus the baseline rows of the first call), reused afterwards
            capacity = _layout(min(chunk, len(records)), c, k_rows, own_empty, need_base).total
            buffer = np.empty((max(capacity, at.total), m), dtype=rows.dtype)
        batch = buffer[: at.total]
        rows.write_coalition_rows(batch[: at.coalitions].reshape(n, c, k_rows, m), ids, plan.masks)
        batch[at.coalitions : at.records] = rows.record_rows(ids)
        if own_empty:
            rows.write_coalition_rows(batch[at.records : at.empty].reshape(n, 1, k_rows, m), ids, no_players)
        if need_base:
            batch[at.empty : at.total] = rows.baseline_rows()

        scores = caller.scores(batch)
        k = scores.shape[1]
        coal = mean_over_baseline(scores[: at.coalitions], n, c, k_rows)
        # a copy: the scores may be a view of the (reused) row matrix, e.g. for a model returning X[:, 0]
        full = apply_link(scores[at.coalitions : at.records].copy(), use_logit)
        if own_empty:
            empty_mean = mean_over_baseline(scores[at.records : at.empty], n, 1, k_rows)[:, 0, :]
            base = apply_link(empty_mean, use_logit)
        else:
            if need_base:
                common_base = scores[at.empty : at.total].mean(axis=0)
            base = np.broadcast_to(apply_link(common_base, use_logit), (n, k))
        y = apply_link(coal, use_logit).transpose(1, 0, 2).reshape(c, n * k)
        phi = solve_shap(plan, y, base.reshape(-1), full.reshape(-1))
        values.append(phi.reshape(n, k, plan.num_players))
        bases.append(np.array(base))
        fulls.append(full)
        progress.advance("Kernel SHAP", n, "records")
    return (
        GroupResult(values=np.concatenate(values), base=np.concatenate(bases), full=np.concatenate(fulls)),
        common_base,
    )
