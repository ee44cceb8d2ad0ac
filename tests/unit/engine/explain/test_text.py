"""Text features: units, replacement semantics, exact values, global_top_shap_text."""

from __future__ import annotations

import numpy as np
import pyarrow as pa
import pytest

from airflow_provider_clarify.engine.explain import compute_explanations
from airflow_provider_clarify.engine.explain.text import TextConfig, TextConfigError, split_text
from airflow_provider_clarify.engine.io import OutputLocation
from airflow_provider_clarify.engine.predictors import CallablePredictor
from tests.unit.engine.explain.conftest import brute_force_shapley


def test_units_and_exact_reconstruction():
    text = "  Great product, awful delivery!\n\nWould buy again. Maybe."
    tokens = split_text(text, "token")
    assert tokens.units == (
        "Great",
        "product",
        ",",
        "awful",
        "delivery",
        "!",
        "Would",
        "buy",
        "again",
        ".",
        "Maybe",
        ".",
    )
    assert tokens.compose(np.ones(12, dtype=bool), "") == text
    assert split_text(text, "sentence").units == (
        "Great product, awful delivery!",
        "Would buy again.",
        "Maybe.",
    )
    assert split_text(text, "paragraph").units == (
        "Great product, awful delivery!",
        "Would buy again. Maybe.",
    )
    masked = split_text("good bad", "token").compose(np.array([True, False]), "[MASK]")
    assert masked == "good [MASK]"
    assert split_text("我喜欢", "token").units == ("我", "喜", "欢")


def _sentiment(X):
    """Score = 0.3 * amount + 0.5 per 'good' - 0.7 per 'bad' + 0.2 * 'good' * 'fast' (interaction)."""
    out = []
    for amount, text in X:
        words = str(text).split()
        good, bad, fast = words.count("good"), words.count("bad"), words.count("fast")
        out.append(0.3 * float(amount) + 0.5 * good - 0.7 * bad + 0.2 * good * fast)
    return np.array(out)


def test_token_shap_is_exact_and_tops_are_aggregated(tmp_path):
    table = pa.table({"amount": [1.0, 2.0], "review": ["good fast service", "bad good"]})
    methods = {"shap": {
        "baseline": [[0.0, "[MASK]"]], "save_local_shap_values": True,
        "text_config": {"granularity": "token", "language": "english", "max_top_tokens": 3},
    }}  # fmt: skip
    out = compute_explanations(
        table, methods, CallablePredictor(_sentiment), output=OutputLocation(str(tmp_path))
    )
    entry = out["kernel_shap"]["label0"]
    assert list(entry["global_shap_values"]) == ["amount"]

    # brute force on record 1 ("good fast service": players amount, good, fast, service)
    def game(rows):
        texts = [
            " ".join(w if keep else "[MASK]" for w, keep in zip(["good", "fast", "service"], r[1:] > 0.5))
            for r in rows
        ]
        return _sentiment(np.array([[r[0], t] for r, t in zip(rows, texts)], dtype=object))

    phi, _ = brute_force_shapley(
        lambda rows: game(np.column_stack([rows[:, 0], rows[:, 1:]])), [1.0, 1, 1, 1], [[0.0, 0, 0, 0]]
    )
    lines = (tmp_path / "explanations_shap" / "out.csv").read_text().splitlines()
    assert lines[0] == "amount_label0,review_label0"
    first = [float(v) for v in lines[1].split(",")]
    assert first[0] == pytest.approx(phi[0, 0], abs=1e-12)
    assert first[1] == pytest.approx(phi[0, 1:].sum(), abs=1e-12)
    top = entry["global_top_shap_text"]["review"]
    assert list(top)[:2] == ["bad", "good"]  # |-0.7| first, then good (0.6 and 0.5 -> mean_abs 0.55)
    assert top["bad"] == pytest.approx(0.7, abs=1e-12)
    assert top["good"] == pytest.approx(0.55, abs=1e-12)
    assert len(top) == 3


def test_text_config_is_validated():
    assert TextConfig.from_dict({"granularity": "sentence", "language": "xx"}).max_top_tokens == 50
    with pytest.raises(TextConfigError, match="granularity is 'word'"):
        TextConfig.from_dict({"granularity": "word", "language": "en"})
    with pytest.raises(TextConfigError, match="language is 'klingon'"):
        TextConfig.from_dict({"granularity": "token", "language": "klingon"})
