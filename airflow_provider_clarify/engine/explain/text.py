"""Text features (``methods.shap.text_config``): each token/sentence/paragraph of a text column is a
SHAP player of its own.

Units. A text value is split into units by ``granularity``:

* ``token``: runs of word characters, single punctuation marks, and single CJK characters (Chinese
  and Japanese have no spaces between words; every ideograph/kana is one unit);
* ``sentence``: text up to and including a run of ``.``, ``!``, ``?`` (or their full-width forms);
* ``paragraph``: text separated by blank lines.

The text between units (spaces, line breaks) is kept, so the full coalition reproduces the record's
text exactly.

Absent units. The baseline value of a text column is the replacement string for a removed unit
(docs/explainability.md, "Text features"): a unit outside the coalition is replaced by that string (for example
``"[MASK]"``); with an empty replacement (the default when the baseline is computed) the unit is
dropped. Several baseline rows give several replacements, averaged like any baseline.

Outputs. ``global_top_shap_text`` holds, per text column, the ``max_top_tokens`` units (by absolute
aggregated value) with their SHAP values aggregated by ``agg_method`` over every occurrence; in
``out.csv`` the column ``<text column>_<output>`` holds the sum of the record's unit values, so a row
still adds up to the model output.
"""

from __future__ import annotations

import re
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from airflow_provider_clarify.engine.errors import EngineConfigError

GRANULARITIES = ("token", "sentence", "paragraph")
DEFAULT_MAX_TOP_TOKENS = 50

#: text_config.language values accepted by the processing job (docs/explainability.md, "Text features").
LANGUAGES = {
    "chinese": "zh", "danish": "da", "dutch": "nl", "english": "en", "french": "fr", "german": "de",
    "greek": "el", "italian": "it", "japanese": "ja", "lithuanian": "lt", "multi-language": "xx",
    "norwegian bokmål": "nb", "polish": "pl", "portuguese": "pt", "romanian": "ro", "russian": "ru",
    "spanish": "es", "afrikaans": "af", "albanian": "sq", "arabic": "ar", "armenian": "hy",
    "basque": "eu", "bengali": "bn", "bulgarian": "bg", "catalan": "ca", "croatian": "hr",
    "czech": "cs", "estonian": "et", "finnish": "fi", "gujarati": "gu", "hebrew": "he", "hindi": "hi",
    "hungarian": "hu", "icelandic": "is", "indonesian": "id", "irish": "ga", "kannada": "kn",
    "kyrgyz": "ky", "latvian": "lv", "ligurian": "lij", "luxembourgish": "lb", "macedonian": "mk",
    "malayalam": "ml", "marathi": "mr", "nepali": "ne", "persian": "fa", "sanskrit": "sa",
    "serbian": "sr", "setswana": "tn", "sinhala": "si", "slovak": "sk", "slovenian": "sl",
    "swedish": "sv", "tagalog": "tl", "tamil": "ta", "tatar": "tt", "telugu": "te", "thai": "th",
    "turkish": "tr", "ukrainian": "uk", "urdu": "ur", "vietnamese": "vi", "yoruba": "yo",
}  # fmt: skip

_CJK = "\u3040-\u30ff\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff"
_PATTERNS = {
    "token": re.compile(rf"[{_CJK}]|[^\W{_CJK}]+|[^\w\s]"),
    "sentence": re.compile(r"[^\s][^.!?。！？]*(?:[.!?。！？]+|$)"),
    "paragraph": re.compile(r"\S(?:(?!\n[ \t]*\n)[\s\S])*"),
}


class TextConfigError(EngineConfigError):
    """Bad ``methods.shap.text_config`` (names the field, the value and what is accepted)."""


@dataclass(frozen=True)
class TextConfig:
    granularity: str
    language: str
    max_top_tokens: int = DEFAULT_MAX_TOP_TOKENS

    @classmethod
    def from_dict(cls, config: dict) -> TextConfig:
        granularity = config.get("granularity")
        if granularity not in GRANULARITIES:
            raise TextConfigError(
                f"methods.shap.text_config.granularity is {granularity!r}; accepted: {', '.join(GRANULARITIES)}."
            )
        language = config.get("language")
        codes = set(LANGUAGES.values())
        if not isinstance(language, str) or (
            language.lower() not in LANGUAGES and language.lower() not in codes
        ):
            raise TextConfigError(
                f"methods.shap.text_config.language is {language!r}; accepted: a language name or ISO code "
                "from the Clarify list (e.g. 'english' / 'en', 'multi-language' / 'xx')."
            )
        top = config.get("max_top_tokens", DEFAULT_MAX_TOP_TOKENS)
        if not isinstance(top, int) or isinstance(top, bool) or top < 1:
            raise TextConfigError(
                f"methods.shap.text_config.max_top_tokens is {top!r}; it must be a positive integer."
            )
        return cls(granularity=granularity, language=language, max_top_tokens=top)


@dataclass(frozen=True)
class SplitText:
    """A text cut into units: ``prefix + unit_0 + seps[0] + unit_1 + seps[1] + ...``."""

    prefix: str
    units: tuple[str, ...]
    seps: tuple[str, ...]

    def compose(self, present: np.ndarray, replacement: str) -> str:
        parts = [self.prefix]
        for unit, sep, keep in zip(self.units, self.seps, present):
            parts.append(unit if keep else replacement)
            parts.append(sep)
        return "".join(parts)


def split_text(text: str | None, granularity: str) -> SplitText:
    """Cut ``text`` into units of ``granularity`` (see the module docstring)."""
    if not text:
        return SplitText("", (), ())
    spans = []
    for match in _PATTERNS[granularity].finditer(text):
        start, end = match.span()
        while end > start and text[end - 1].isspace():
            end -= 1
        if end > start:
            spans.append((start, end))
    if not spans:
        return SplitText(text, (), ())
    units = tuple(text[s:e] for s, e in spans)
    seps = tuple(
        text[spans[i][1] : (spans[i + 1][0] if i + 1 < len(spans) else len(text))] for i in range(len(spans))
    )
    return SplitText(text[: spans[0][0]], units, seps)


def looks_like_free_text(values: Sequence) -> bool:
    """A string column whose values mostly hold several words is free text, not a category."""
    present = [v for v in values if isinstance(v, str)]
    if not present:
        return False
    multi = sum(1 for v in present if len(v.split()) > 1)
    return multi >= 0.5 * len(present)


class TextRows:
    """Row builder (see :class:`..synthetic.RowBuilder`) for records with text columns.

    Players of a record: the explained tabular columns, then the units of each text column in order.
    Every record of a group has the same number of units per text column.
    """

    def __init__(
        self,
        records: np.ndarray,
        baseline: np.ndarray,
        tab_players: list[int],
        text_columns: list[int],
        splits: list[list[SplitText]],
    ) -> None:
        self.records = records
        self.baseline = baseline
        self.tab_players = tab_players
        self.text_columns = text_columns
        self.splits = splits
        self.num_baseline_rows = baseline.shape[0]
        self.num_columns = records.shape[1]
        self.dtype = np.dtype(object)
        self.shares_empty_coalition = False

    def write_coalition_rows(self, out: np.ndarray, records: np.ndarray, masks: np.ndarray) -> None:
        out[...] = self.coalition_rows(records, masks).reshape(out.shape)

    def coalition_rows(self, records: np.ndarray, masks: np.ndarray) -> np.ndarray:
        p = len(self.tab_players)
        full = np.ones((masks.shape[0], self.num_columns), dtype=bool)
        full[:, self.tab_players] = masks[:, :p]
        x = self.records[records]
        rows = np.where(full[None, :, None, :], x[:, None, None, :], self.baseline[None, None, :, :])
        rows = rows.astype(object)
        for r, record in enumerate(records):
            offset = p
            for t, column in enumerate(self.text_columns):
                split = self.splits[record][t]
                unit_masks = masks[:, offset : offset + len(split.units)]
                offset += len(split.units)
                for b in range(self.num_baseline_rows):
                    replacement = self.baseline[b, column]
                    replacement = "" if replacement is None else str(replacement)
                    for c in range(masks.shape[0]):
                        rows[r, c, b, column] = split.compose(unit_masks[c], replacement)
        return rows.reshape(-1, self.num_columns)

    def record_rows(self, records: np.ndarray) -> np.ndarray:
        return self.records[records]

    def empty_rows(self, records: np.ndarray) -> np.ndarray:
        players = len(self.tab_players) + sum(len(s.units) for s in self.splits[records[0]])
        return self.coalition_rows(records, np.zeros((1, players), dtype=bool))

    def baseline_rows(self) -> np.ndarray:
        return self.baseline


def top_text_units(
    occurrences: dict[str, list[np.ndarray]], agg_method: str, max_top: int, output: int
) -> dict[str, float]:
    """Aggregate each unit's values over its occurrences; keep the ``max_top`` largest by magnitude."""
    from airflow_provider_clarify.engine.explain.aggregate import aggregate

    scored = {
        unit: float(aggregate(np.array([v[output] for v in values]), agg_method))
        for unit, values in occurrences.items()
    }
    ranked = sorted(scored.items(), key=lambda item: (-abs(item[1]), item[0]))
    return dict(ranked[:max_top])


def collect_occurrences(
    splits: list[SplitText], unit_values: np.ndarray, into: dict[str, list[np.ndarray]] | None = None
) -> dict[str, list[np.ndarray]]:
    """Append each unit's ``(k,)`` values (``unit_values``: ``(k, U)``) under the unit text."""
    into = into if into is not None else defaultdict(list)
    offset = 0
    for split in splits:
        for unit in split.units:
            into[unit].append(unit_values[:, offset])
            offset += 1
    return into
