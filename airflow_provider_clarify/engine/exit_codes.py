"""Exit statuses of the engine's command-line programs (``analyze``, ``monitor``, the explainer server).

One table, read by the programs that return them and by the operators that interpret them (a
``compute="spark"`` driver, the local-compute child): ``EXIT_CONFIG`` means the configuration or the
data is wrong, so running again would fail the same way and the task must not be retried.
Importing this module is free (no imports), so operators may read it at DAG-parse time.
"""

from __future__ import annotations

EXIT_OK = 0
EXIT_FAILURE = 1
EXIT_CONFIG = 2
EXIT_MODEL = 3
EXIT_IO = 4

__all__ = ["EXIT_CONFIG", "EXIT_FAILURE", "EXIT_IO", "EXIT_MODEL", "EXIT_OK"]
