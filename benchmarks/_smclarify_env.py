"""The benchmarks' own smclarify: a virtualenv created on first use and reused afterwards.

smclarify 0.5 (the bias library inside the SageMaker Clarify container) is never a dependency of
this project: it needs pandas < 3 and pulls in s3fs and boto3. The bias benchmark runs it live, in a
separate interpreter, so both sides are timed in the same run on the same machine. This module
finds (or builds) that interpreter::

    python -m venv ~/.cache/clarify-bench/smclarify-venv
    ~/.cache/clarify-bench/smclarify-venv/bin/python -m pip install "smclarify==0.5" "pandas>=2,<3"

``CLARIFY_BENCH_SMCLARIFY_VENV`` (or the benchmark's ``--smclarify-venv``) points elsewhere. The
child script that runs inside it is :file:`benchmarks/_smclarify_child.py` (standard library,
pandas and smclarify only: the project's code is not importable there).
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

#: What the benchmark's smclarify environment holds (the versions the parity fixtures were made with).
REQUIREMENTS = ("smclarify==0.5", "pandas>=2,<3")
DEFAULT_VENV = Path(
    os.environ.get(
        "CLARIFY_BENCH_SMCLARIFY_VENV", Path.home() / ".cache" / "clarify-bench" / "smclarify-venv"
    )
)
CHILD_SCRIPT = Path(__file__).resolve().parent / "_smclarify_child.py"


_PROBE = (
    "from importlib.metadata import version as v; import smclarify.bias.report, pandas, pyarrow; "
    "print(f\"smclarify {v('smclarify')}, pandas {v('pandas')}, numpy {v('numpy')}\")"
)


def _python(venv: Path) -> Path:
    return venv / ("Scripts/python.exe" if os.name == "nt" else "bin/python")


def _usable(python: Path) -> str | None:
    """smclarify's and pandas' versions when ``python`` can import them (and pyarrow), else ``None``."""
    if not python.exists():
        return None
    probe = subprocess.run([str(python), "-c", _PROBE], capture_output=True, text=True)
    return probe.stdout.strip() if probe.returncode == 0 else None


def smclarify_python(venv: Path = DEFAULT_VENV) -> tuple[Path, str]:
    """The interpreter of a virtualenv with smclarify, creating it when missing; and its versions.

    :raises RuntimeError: the virtualenv could not be created or the packages installed (pip's
        output tail is in the message).
    """
    python = _python(venv)
    versions = _usable(python)
    if versions:
        return python, versions
    print(
        f"[smclarify] creating {venv} with {' '.join(REQUIREMENTS)} (once; reused afterwards) ...", flush=True
    )
    venv.parent.mkdir(parents=True, exist_ok=True)
    steps = [
        [sys.executable, "-m", "venv", "--clear", str(venv)],
        [str(python), "-m", "pip", "install", "--quiet", "--disable-pip-version-check", *REQUIREMENTS],
    ]
    for step in steps:
        done = subprocess.run(step, capture_output=True, text=True)
        if done.returncode != 0:
            tail = "\n".join((done.stdout + done.stderr).splitlines()[-15:])
            raise RuntimeError(f"{' '.join(step)} failed (exit {done.returncode}):\n{tail}")
    versions = _usable(python)
    if not versions:
        raise RuntimeError(f"{python} still cannot import smclarify after installing {REQUIREMENTS}")
    return python, versions
