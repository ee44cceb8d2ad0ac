"""Is the ``engine`` extra installed? Asked before the engine starts, so a missing library is a clear,
non-retried configuration error naming the extra, never a ``ModuleNotFoundError: pyarrow`` that
Airflow retries (``compute="local"``) or a traceback (the CLI).

Standard library only: it runs where the numeric libraries may be absent.
"""

from __future__ import annotations

import importlib.util

from airflow_provider_clarify.engine.errors import EngineConfigError

#: Import names of the libraries the ``engine`` extra installs (pyproject.toml), and their packages.
ENGINE_MODULES = {
    "numpy": "numpy",
    "pyarrow": "pyarrow",
    "sklearn": "scikit-learn",
    "joblib": "joblib",
    "kmodes": "kmodes",
    "threadpoolctl": "threadpoolctl",
}
INSTALL_HINT = (
    'Install the open engine with pip install "airflow-provider-clarify[engine]" (from a clone of the '
    'repository: pip install -e ".[engine]") into the environment that runs the analysis.'
)


class EngineNotInstalledError(EngineConfigError):
    """A library of the ``engine`` extra is missing; installing the extra is the fix."""


def _available(module: str) -> bool:
    try:
        return importlib.util.find_spec(module) is not None
    except (ImportError, ValueError):  # an import hook that refuses it, or a broken package
        return False


def missing_engine_modules() -> list[str]:
    """Packages of the ``engine`` extra that cannot be found (without importing any of them)."""
    return [package for module, package in ENGINE_MODULES.items() if not _available(module)]


def not_installed_error(missing: list[str], *, field: str = "compute") -> EngineNotInstalledError:
    """The error for missing engine libraries (named by their packages)."""
    return EngineNotInstalledError(
        f"The open engine needs {', '.join(missing)}, which {'is' if len(missing) == 1 else 'are'} not "
        f"installed. {INSTALL_HINT}",
        field=field,
        value="local",
        accepted="an environment with the engine extra installed",
    )


def check_engine_installed(*, field: str = "compute") -> None:
    """Raise :class:`EngineNotInstalledError` (a non-retried config error) when the extra is missing."""
    missing = missing_engine_modules()
    if missing:
        raise not_installed_error(missing, field=field)


def engine_module_of(exc: BaseException) -> str | None:
    """The engine package behind a ``ModuleNotFoundError``, when it is one of the extra's."""
    if isinstance(exc, ModuleNotFoundError) and exc.name:
        return ENGINE_MODULES.get(exc.name.split(".")[0])
    return None
