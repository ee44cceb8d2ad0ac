"""spark_bundle: what compute="sagemaker_spark" ships (package zip, dependency bundle), with real pip.

The dependency bundle is built by a real ``pip download`` for the job's platform (CPython 3.12,
manylinux x86_64) from a local wheel folder (``--no-index --find-links``), so no network is needed.
"""

from __future__ import annotations

import hashlib
import io
import zipfile
from pathlib import Path

import pytest

from airflow_provider_clarify.spark_bundle import (
    BundleBuildError,
    build_dependency_bundle,
    entry_script,
    package_zip,
)


def make_wheel(folder: Path, name: str, version: str, requires: tuple[str, ...] = ()) -> Path:
    """A minimal valid pure-Python wheel with a module, a purelib data file and a script."""
    dist = f"{name}-{version}"
    files = {
        f"{name}/__init__.py": f"VERSION = {version!r}\n",
        f"{dist}.data/purelib/{name}_extra.py": "EXTRA = True\n",
        f"{dist}.data/scripts/{name}-cli": "#!python\n",
        f"{dist}.dist-info/METADATA": "Metadata-Version: 2.1\n"
        f"Name: {name}\nVersion: {version}\n" + "".join(f"Requires-Dist: {r}\n" for r in requires),
        f"{dist}.dist-info/WHEEL": "Wheel-Version: 1.0\nGenerator: test\nRoot-Is-Purelib: true\nTag: py3-none-any\n",
    }
    record = "".join(f"{path},,\n" for path in files) + f"{dist}.dist-info/RECORD,,\n"
    wheel = folder / f"{dist}-py3-none-any.whl"
    with zipfile.ZipFile(wheel, "w") as archive:
        for path, text in files.items():
            archive.writestr(path, text)
        archive.writestr(f"{dist}.dist-info/RECORD", record)
    return wheel


def test_bundle_holds_the_requirements_and_their_dependencies_unpacked(tmp_path):
    index = tmp_path / "index"
    index.mkdir()
    make_wheel(index, "clarifyprobe", "1.0", requires=("clarifydep>=2",))
    make_wheel(index, "clarifydep", "2.1")
    make_wheel(index, "unrelated", "9.9")
    target = tmp_path / "out" / "deps.zip"

    built = build_dependency_bundle(
        target, ["clarifyprobe"], pip_args=["--no-index", "--find-links", str(index)]
    )

    assert built == target
    names = set(zipfile.ZipFile(target).namelist())
    assert {"clarifyprobe/__init__.py", "clarifydep/__init__.py", "clarifyprobe_extra.py"} <= names
    assert not any(n.startswith("unrelated") for n in names)
    assert not any(".data/" in n or n.endswith("-cli") for n in names)
    assert not list(target.parent.glob(".*partial"))


def test_a_missing_requirement_fails_with_the_fix(tmp_path):
    (tmp_path / "index").mkdir()
    with pytest.raises(BundleBuildError) as failure:
        build_dependency_bundle(
            tmp_path / "deps.zip",
            ["clarify-no-such-package"],
            pip_args=["--no-index", "--find-links", str(tmp_path / "index")],
        )
    assert "spark_dependencies_uri" in str(failure.value)
    assert not (tmp_path / "deps.zip").exists()


def test_a_platform_specific_wheel_for_another_platform_is_not_taken(tmp_path):
    index = tmp_path / "index"
    index.mkdir()
    wheel = make_wheel(index, "nativeprobe", "1.0")
    wheel.rename(index / "nativeprobe-1.0-cp311-cp311-macosx_11_0_arm64.whl")
    with pytest.raises(BundleBuildError):
        build_dependency_bundle(
            tmp_path / "deps.zip", ["nativeprobe"], pip_args=["--no-index", "--find-links", str(index)]
        )


def test_package_zip_is_the_package_sources_and_reproducible():
    first, second = package_zip(), package_zip()
    assert hashlib.sha256(first).digest() == hashlib.sha256(second).digest()
    names = zipfile.ZipFile(io.BytesIO(first)).namelist()
    assert "airflow_provider_clarify/engine/spark/runner.py" in names
    assert any(n.startswith("airflow_provider_clarify/engine/templates/") for n in names)  # not only .py
    assert not [n for n in names if n.endswith(".pyc") or "__pycache__" in n]


def test_entry_script_is_the_entry_module():
    from airflow_provider_clarify.engine.spark import sagemaker_entry

    assert entry_script() == Path(sagemaker_entry.__file__).read_bytes()
