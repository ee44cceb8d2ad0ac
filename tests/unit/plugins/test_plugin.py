"""The plugin's registration and its light import (every Airflow process loads plugins)."""

from __future__ import annotations

import subprocess
import sys
import tomllib

from airflow.plugins_manager import AirflowPlugin

from tests.support.paths import REPO_ROOT


def test_pyproject_registers_the_plugin_through_the_airflow_plugins_entry_point():
    project = tomllib.loads((REPO_ROOT / "pyproject.toml").read_text())
    target = project["project"]["entry-points"]["airflow.plugins"]["clarify_history"]
    module, _, name = target.partition(":")
    plugin = getattr(__import__(module, fromlist=[name]), name)
    assert issubclass(plugin, AirflowPlugin)
    assert plugin.name == "clarify_history"
    assert [app["url_prefix"] for app in plugin.fastapi_apps] == ["/clarify"]


def test_loading_the_plugin_does_not_build_the_app_nor_import_fastapi():
    probe = (
        "import sys; import airflow_provider_clarify.plugins.history as h; "
        "print(sorted(m for m in ('fastapi', 'starlette', 'airflow_provider_clarify.plugins.app') if m in sys.modules))"
    )
    done = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, timeout=180, check=True
    )
    assert done.stdout.strip().splitlines()[-1] == "[]"
