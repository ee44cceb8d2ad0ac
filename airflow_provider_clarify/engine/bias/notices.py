"""Warnings of a bias run: inputs on which the numbers are smclarify's but may not be what was meant.

The engine keeps parity with SageMaker Clarify's numbers (see ``docs/parity.md``), and some of
Clarify's rules surprise users: a label value ``0.5`` on an integer 0/1 label is converted to ``0``,
a binary column of 40 rows or fewer is continuous, a one-row facet group makes DCR infinite. Each
such case is reported twice, so that nobody has to read the code to find out:

* a log line (``logging.getLogger(__name__)``, level WARNING), visible in the Airflow task log;
* an entry of the ``"warnings"`` list of the bias section it concerns in ``analysis.json``::

      "pre_training_bias_metrics": {"label": ..., "facets": ..., "label_value_or_threshold": ...,
                                    "warnings": [{"code": "label_value_converted",
                                                  "column": "approved",
                                                  "message": "..."}]}

  The key is present only when there is something to say, so the sections of a clean run are
  byte-identical to the container's. ``code`` is a stable identifier (:data:`CODES`), ``column``
  the column concerned (or ``null``), ``message`` the text of the log line.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field

log = logging.getLogger(__name__)

PRE_TRAINING = "pre_training_bias_metrics"
POST_TRAINING = "post_training_bias_metrics"

#: Every warning code and when it is given.
CODES: dict[str, str] = {
    "facet_value_absent": "a facet value occurs in no row (the sensitive group is empty or smaller)",
    "label_value_absent": "a positive label value occurs in no row",
    "text_in_numeric_column": "a few text cells make a numeric column text, so a threshold became a category",
    "value_converted": "a value was converted to the column's type and changed (0.5 -> 0)",
    "small_binary_continuous": "a column with two values on 40 rows or fewer is typed continuous",
    "infinite_metric": "a metric is infinite (usually a group of one or very few rows)",
    "dataset_read": "the dataset reader noticed something (e.g. a header row that looks like data)",
}


@dataclass(frozen=True)
class BiasWarning:
    """One warning: a stable ``code``, the ``column`` concerned and a ``message`` naming the fix.

    ``section``: the analysis.json section it belongs to, or ``None`` for every bias section.
    """

    code: str
    message: str
    column: str | None = None
    section: str | None = None

    def as_dict(self) -> dict:
        return {"code": self.code, "column": self.column, "message": self.message}


@dataclass
class BiasWarnings:
    """Collects the warnings of one bias run, logging each one once as it is added."""

    items: list[BiasWarning] = field(default_factory=list)

    def add(
        self,
        code: str,
        message: str,
        *,
        column: str | None = None,
        section: str | None = None,
        log_it: bool = True,
    ) -> None:
        if code not in CODES:
            raise ValueError(f"unknown bias warning code {code!r}")
        item = BiasWarning(code, message, column, section)
        if item not in self.items:
            self.items.append(item)
            if log_it:
                log.warning("%s", message)

    def for_section(self, section: str) -> list[dict]:
        """The warnings of one analysis.json section, as JSON-ready dicts, in the order they arose."""
        return [w.as_dict() for w in self.items if w.section in (None, section)]


__all__ = ["CODES", "POST_TRAINING", "PRE_TRAINING", "BiasWarning", "BiasWarnings"]
