"""Keep pandas out of engine runs that execute no model code.

pyarrow imports pandas on its first conversion of Python values (``pa.array(list)``), only to ask
whether the input is a pandas object: about 0.6-1.5 s of CPU, most of the start-up of a small
audit, and half the run time of a 1M-row bias analysis from the CLI. The engine hands pyarrow
numpy arrays, Python values and Arrow data, and never uses pandas itself, so a run whose model is
not a loaded artifact (none, a predicted-label column, an HTTP server, an endpoint) can report
pandas as not installed, and pyarrow then skips the check. A model artifact's own code may use
pandas, so such runs import it as usual. Used by the engine CLI and the ``compute="local"`` child
(docs/performance.md, "A compute="local" task").

A ``None`` entry in ``sys.modules`` is not enough: pyarrow's compiled import would then receive
``None`` instead of an ``ImportError``; a ``sys.meta_path`` finder that raises is.
"""

from __future__ import annotations

import sys
from typing import Any


class PandasUnavailable:
    """A ``sys.meta_path`` finder that reports pandas as not installed (``ModuleNotFoundError``)."""

    def find_spec(self, name: str, path: Any = None, target: Any = None) -> None:
        if name == "pandas" or name.startswith("pandas."):
            raise ModuleNotFoundError(f"No module named {name!r} (kept out of this run)", name=name)


def keep_pandas_out(model_kind: str | None = None) -> bool:
    """Report pandas as not installed from now on in this process, unless the run's model
    (``model_kind``, a ``ModelSource`` kind) is a loaded ``"artifact"``, whose code may use it.
    ``True`` when that took effect (``False`` for an artifact, or when pandas is imported already)."""
    if model_kind == "artifact" or "pandas" in sys.modules:
        return False
    if not any(isinstance(finder, PandasUnavailable) for finder in sys.meta_path):
        sys.meta_path.insert(0, PandasUnavailable())
    return True


__all__ = ["PandasUnavailable", "keep_pandas_out"]
