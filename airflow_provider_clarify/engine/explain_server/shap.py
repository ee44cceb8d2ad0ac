"""Kernel SHAP for the records of one invocation, with the open engine's own code.

The coalitions come from :func:`airflow_provider_clarify.engine.explain.coalitions.plan_coalitions`
seeded with ``ShapConfig.Seed`` (``numpy.random.default_rng(seed)``, one plan per invocation), the
synthetic rows and the solve from :func:`airflow_provider_clarify.engine.explain.synthetic.explain_group`:
exactly what the batch engine does for a dataset made of the same records with the same baseline, so
the values are the same. Budget: ``min(NumberOfSamples, 2^M - 2)``, or ``min(2M + 2048, 2^M - 2)``.

Text features: every unit (token, sentence or paragraph) of a text column is a player of its own; a
unit outside the coalition is replaced by the baseline's value of that column (the replacement token).
Records with the same number of units per text column share one plan, planned in record order from one
generator, as in the batch engine.
"""

from __future__ import annotations

import functools
from collections import defaultdict
from dataclasses import dataclass

import numpy as np

from airflow_provider_clarify.engine.explain.coalitions import (
    CoalitionPlan,
    coalition_budget,
    plan_coalitions,
)
from airflow_provider_clarify.engine.explain.model_calls import ModelCaller
from airflow_provider_clarify.engine.explain.synthetic import TabularRows, explain_group
from airflow_provider_clarify.engine.explain.text import SplitText, TextRows, split_text


@dataclass
class TextUnit:
    text: str
    start: int
    values: np.ndarray  # (k,)


@dataclass
class RecordExplanation:
    """SHAP values of one record: per tabular feature ``(k,)``, per text feature a list of units."""

    tabular: dict[int, np.ndarray]
    text: dict[int, list[TextUnit]]


@functools.lru_cache(maxsize=64)
def _seeded_plan(num_players: int, budget: int, seed: int) -> CoalitionPlan:
    """The plan a fresh ``default_rng(seed)`` draws (deterministic, so planned once per server)."""
    return plan_coalitions(num_players, budget, np.random.default_rng(seed))


def unit_starts(split: SplitText) -> list[int]:
    """0-based character offset of every unit in the original text."""
    starts = []
    position = len(split.prefix)
    for unit, sep in zip(split.units, split.seps):
        starts.append(position)
        position += len(unit) + len(sep)
    return starts


def explain_records(
    records: np.ndarray,
    baseline: np.ndarray,
    caller: ModelCaller,
    *,
    num_samples: int | None,
    seed: int | None,
    use_logit: bool,
    granularity: str | None = None,
    text_columns: list[int] | None = None,
) -> list[RecordExplanation]:
    """Explanations of every row of ``records`` (all columns are players)."""
    n, m = records.shape
    rng = np.random.default_rng(seed)
    text = list(text_columns or []) if granularity else []
    players = [j for j in range(m) if j not in text]
    if not text:
        budget = coalition_budget(len(players), num_samples)
        plan = (
            _seeded_plan(len(players), budget, seed)
            if seed is not None
            else plan_coalitions(len(players), budget, rng)
        )
        rows = TabularRows(records, baseline, players)
        result, _ = explain_group(np.arange(n), plan, rows, caller, use_logit=use_logit)
        return [
            RecordExplanation({j: result.values[i, :, p] for p, j in enumerate(players)}, {})
            for i in range(n)
        ]

    splits = [
        [split_text(records[i, c] if isinstance(records[i, c], str) else None, granularity) for c in text]
        for i in range(n)
    ]
    groups: dict[tuple[int, ...], list[int]] = defaultdict(list)
    for i, record_splits in enumerate(splits):
        groups[tuple(len(s.units) for s in record_splits)].append(i)
    rows = TextRows(records, baseline.astype(object), players, text, splits)
    out: list[RecordExplanation | None] = [None] * n
    common = None
    p = len(players)
    for unit_counts, members in groups.items():
        size = p + sum(unit_counts)
        plan = plan_coalitions(size, coalition_budget(size, num_samples), rng)
        result, common = explain_group(
            np.array(members), plan, rows, caller, use_logit=use_logit, common_base=common
        )
        for r, record in enumerate(members):
            values = result.values[r]  # (k, size)
            tabular = {j: values[:, q] for q, j in enumerate(players)}
            units: dict[int, list[TextUnit]] = {}
            offset = p
            for t, column in enumerate(text):
                split = splits[record][t]
                units[column] = [
                    TextUnit(unit, start, values[:, offset + u])
                    for u, (unit, start) in enumerate(zip(split.units, unit_starts(split)))
                ]
                offset += len(split.units)
            out[record] = RecordExplanation(tabular, units)
    return [explanation for explanation in out if explanation is not None]
