"""Helpers shared by the runner and CLI tests: smclarify's golden output for the synthetic credit data."""

from __future__ import annotations

import json
import math

from tests.support.paths import GOLDEN_DIR

GOLDEN_CSV = GOLDEN_DIR / "synthetic_credit.csv"


def golden_cases() -> list[dict]:
    return json.loads((GOLDEN_DIR / "smclarify_golden.json").read_text())


def golden_case(name: str) -> dict:
    return next(case for case in golden_cases() if case["name"] == name)


def assert_section_matches(expected: dict, actual: dict, *, skip: tuple[str, ...] = ()) -> None:
    """Every metric smclarify reported is present with the same value (1e-9 relative) or error."""
    assert actual["label"] == expected["label"]
    assert list(actual["facets"]) == list(expected["facets"])
    for facet, entries in expected["facets"].items():
        got_entries = actual["facets"][facet]
        assert [e["value_or_threshold"] for e in got_entries] == [e["value_or_threshold"] for e in entries]
        for entry, got in zip(entries, got_entries, strict=True):
            by_name = {m["name"]: m for m in got["metrics"]}
            for metric in entry["metrics"]:
                if metric["name"] in skip:
                    continue
                mine = by_name[metric["name"]]
                assert mine["description"] == metric["description"]
                if metric.get("value") is None:
                    assert mine["value"] is None, (facet, metric, mine)
                    assert mine["error"] == metric["error"], (facet, metric, mine)
                else:
                    assert math.isclose(mine["value"], metric["value"], rel_tol=1e-9, abs_tol=1e-12), (
                        facet,
                        entry["value_or_threshold"],
                        metric,
                        mine,
                    )
