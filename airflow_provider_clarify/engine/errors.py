"""The engine's one error hierarchy.

Every error the engine raises on purpose is an :class:`EngineError`. Whether a failure is worth
retrying is decided by the type alone, the same way in the CLI, in ``compute="local"`` and in a
user's own code:

* :class:`EngineConfigError` (also a :class:`~airflow_provider_clarify.analysis.errors.ClarifyConfigError`)
  is a mistake in the configuration or the data that will fail the same way on every try: the task
  fails at once, without retries, and the CLI exits with status 2;
* :class:`EngineRuntimeError` is a failure of something outside the engine (a model server, the
  network, storage) that may succeed on another try.
"""

from __future__ import annotations

from airflow_provider_clarify.analysis.errors import ClarifyConfigError


class EngineError(Exception):
    """Base of every error the engine raises on purpose."""


class EngineConfigError(EngineError, ClarifyConfigError):
    """Configuration or data the engine cannot analyse; the same input fails the same way again."""


class EngineRuntimeError(EngineError, RuntimeError):
    """A failure outside the engine's input (model server, network, storage); a retry may succeed."""


__all__ = ["EngineConfigError", "EngineError", "EngineRuntimeError"]
