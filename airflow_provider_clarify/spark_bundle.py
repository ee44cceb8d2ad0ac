"""What ``compute="sagemaker_spark"`` ships to a job that has no internet: this package and its libraries.

* :func:`package_zip`: this package's sources as one zip (the job's ``--py-files``). The bytes depend
  only on the files' paths and contents (fixed timestamps), so equal sources give equal zips.
* :func:`build_dependency_bundle`: the third-party libraries the Spark image lacks
  (``analysis.spark_processing.BUNDLE_REQUIREMENTS`` and their dependencies) as one zip of unpacked
  manylinux wheels for the image's CPython 3.12, fetched with ``pip download`` (pip resolves them for
  the *target* platform, not this machine's). The job's entry script puts the zip's contents first
  on the driver's and the executors' path.

The operator builds the bundle on the worker when ``spark_dependencies_uri`` is not given (the worker
needs PyPI, or a mirror through pip's own configuration). Without that access, build it once where
there is, upload it, and pass its S3 URI::

    python -m airflow_provider_clarify.spark_bundle --output clarify-spark-deps.zip
    aws s3 cp clarify-spark-deps.zip s3://bucket/clarify/clarify-spark-deps.zip

Standard library only (imported by operators at run time).
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import zipfile
from collections.abc import Sequence
from pathlib import Path

from airflow_provider_clarify.analysis.spark_processing import (
    BUNDLE_PLATFORMS,
    BUNDLE_PYTHON_VERSION,
    BUNDLE_REQUIREMENTS,
)

__all__ = ["BundleBuildError", "build_dependency_bundle", "entry_script", "package_zip"]

#: Timestamp of every zip member, so the zip's bytes depend on contents only.
_EPOCH = (1980, 1, 1, 0, 0, 0)
_PACKAGE = Path(__file__).resolve().parent


class BundleBuildError(RuntimeError):
    """``pip download`` could not fetch the dependency bundle (no index access, no matching wheel)."""


def _add(archive: zipfile.ZipFile, name: str, data: bytes) -> None:
    info = zipfile.ZipInfo(name, date_time=_EPOCH)
    info.compress_type = zipfile.ZIP_DEFLATED
    info.external_attr = 0o644 << 16
    archive.writestr(info, data)


def package_zip(package_dir: Path = _PACKAGE) -> bytes:
    """This package's source files (no ``__pycache__``) as zip bytes, for ``spark-submit --py-files``."""
    target = tempfile.SpooledTemporaryFile(max_size=64 << 20)
    with zipfile.ZipFile(target, "w") as archive:
        for path in sorted(package_dir.rglob("*")):
            if path.is_file() and "__pycache__" not in path.parts and path.suffix != ".pyc":
                name = f"{package_dir.name}/{path.relative_to(package_dir).as_posix()}"
                _add(archive, name, path.read_bytes())
    target.seek(0)
    return target.read()


def entry_script() -> bytes:
    """The job's entry script (``engine/spark/sagemaker_entry.py``), read as a file (nothing imported)."""
    return (_PACKAGE / "engine" / "spark" / "sagemaker_entry.py").read_bytes()


def _install_wheel(wheel: Path, site: Path) -> None:
    """Unpack a wheel as pip would for a purelib/platlib install (no scripts, headers or data)."""
    with zipfile.ZipFile(wheel) as archive:
        for member in archive.infolist():
            if member.is_dir():
                continue
            parts = member.filename.split("/")
            if parts[0].endswith(".data"):
                if len(parts) < 3 or parts[1] not in ("purelib", "platlib"):
                    continue  # scripts, headers, data: nothing the engine imports
                parts = parts[2:]
            destination = site.joinpath(*parts)
            destination.parent.mkdir(parents=True, exist_ok=True)
            destination.write_bytes(archive.read(member))


def build_dependency_bundle(
    target: str | os.PathLike,
    requirements: Sequence[str] = BUNDLE_REQUIREMENTS,
    *,
    python_version: str = BUNDLE_PYTHON_VERSION,
    platforms: Sequence[str] = BUNDLE_PLATFORMS,
    pip_args: Sequence[str] = (),
    python: str = sys.executable,
) -> Path:
    """Download ``requirements`` (with their dependencies) as wheels for the job's platform and zip them,
    unpacked, into ``target`` (written atomically: a temp file renamed into place).

    :param pip_args: more ``pip download`` options (``--index-url``, ``--find-links``, ``--no-index``).
    :raises BundleBuildError: pip failed (its last output lines are in the message).
    """
    target = Path(target)
    with tempfile.TemporaryDirectory(prefix="clarify-bundle-") as scratch:
        wheels, site = Path(scratch) / "wheels", Path(scratch) / "site"
        command = [python, "-m", "pip", "download", "--quiet", "--disable-pip-version-check"]
        command += ["--only-binary=:all:", "--implementation", "cp", "--python-version", python_version]
        for platform in platforms:
            command += ["--platform", platform]
        command += ["--dest", str(wheels), *pip_args, *requirements]
        done = subprocess.run(command, capture_output=True, text=True, check=False)
        if done.returncode != 0:
            tail = "\n".join((done.stderr or done.stdout).strip().splitlines()[-8:])
            raise BundleBuildError(
                f"pip download of the Spark job's dependencies failed (exit {done.returncode}):\n{tail}\n"
                "The worker needs access to PyPI (or a mirror in pip's configuration). Otherwise build the "
                "bundle elsewhere with `python -m airflow_provider_clarify.spark_bundle --output "
                "clarify-spark-deps.zip`, upload it and pass spark_dependencies_uri."
            )
        found = sorted(wheels.glob("*.whl"))
        if not found:
            raise BundleBuildError(f"pip download fetched no wheel for {list(requirements)}")
        for wheel in found:
            _install_wheel(wheel, site)
        target.parent.mkdir(parents=True, exist_ok=True)
        partial = target.with_name(f".{target.name}.partial")
        with zipfile.ZipFile(partial, "w") as archive:
            for path in sorted(site.rglob("*")):
                if path.is_file() and "__pycache__" not in path.parts:
                    _add(archive, path.relative_to(site).as_posix(), path.read_bytes())
        os.replace(partial, target)
    return target


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Build the dependency bundle of compute='sagemaker_spark'.")
    parser.add_argument("--output", required=True, help="where to write the bundle zip")
    parser.add_argument(
        "--pip-arg", action="append", default=[], help="an extra pip download option (repeatable)"
    )
    args = parser.parse_args(argv)
    try:
        written = build_dependency_bundle(args.output, pip_args=args.pip_arg)
    except BundleBuildError as error:
        print(error, file=sys.stderr)
        return 1
    print(f"{written} ({written.stat().st_size / 1e6:.1f} MB)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
