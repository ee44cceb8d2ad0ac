"""Where results live: ``s3://`` URIs, ``file://`` URIs and local paths, in one place.

The hook, the analysis operators, the gates and local compute all name locations the same way; this
module is the one definition of how such a name is read (its scheme, the local path behind it, the
``analysis.json`` file of a result folder) and of how a local file is written without ever being
half-written. Pure standard library: no Airflow, no AWS SDK, no numeric library, so any layer may use it.
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path
from urllib.parse import unquote, urlparse

#: The file a Clarify job (or the open engine) writes under its ``analysis_result`` location.
ANALYSIS_FILE = "analysis.json"


def scheme(uri: str) -> str:
    """The lower-case scheme of ``uri`` (``"s3"``, ``"file"``, ``"http"``, ...); ``""`` for a plain path."""
    if "://" not in uri:
        return ""
    return uri.split("://", 1)[0].lower()


def is_s3(uri: str) -> bool:
    """Whether ``uri`` is an ``s3://`` URI."""
    return uri.startswith("s3://")


def local_path(uri: str) -> Path:
    """The local path behind ``/path``, ``relative/path`` or ``file:///path`` (percent-escapes decoded)."""
    if uri.startswith("file://"):
        return Path(unquote(urlparse(uri).path))
    return Path(uri)


def split_s3_uri(uri: str) -> tuple[str, str]:
    """Split ``s3://bucket/some/prefix/`` into ``("bucket", "some/prefix")`` (no trailing slash).

    :param uri: an ``s3://`` URI.
    :raises ValueError: when ``uri`` is not an ``s3://`` URI with a bucket.
    """
    if not uri.startswith("s3://") or len(uri) <= len("s3://"):
        raise ValueError(f"expected an s3:// URI with a bucket, got {uri!r}")
    bucket, _, key = uri[len("s3://") :].partition("/")
    if not bucket:
        raise ValueError(f"expected an s3:// URI with a bucket, got {uri!r}")
    return bucket, key.strip("/")


def join(uri: str, name: str) -> str:
    """``<uri>/<name>`` with exactly one slash between them."""
    return f"{uri.rstrip('/')}/{name}"


def analysis_file_uri(uri: str) -> str:
    """``uri`` when it already names a ``.json`` file, else ``<uri>/analysis.json``."""
    return uri if uri.endswith(".json") else join(uri, ANALYSIS_FILE)


def result_folder_uri(uri: str) -> str:
    """The ``analysis_result`` folder of a result URI (its parent when it names the json file)."""
    return uri.rsplit("/", 1)[0] if uri.endswith(".json") else uri.rstrip("/")


def write_local_atomic(path: Path, data: bytes) -> None:
    """Write ``data`` to ``path`` through a temporary sibling renamed into place (never half-written).

    Creates missing parent folders; on any failure the temporary file is removed and ``path`` keeps
    its old content (or stays absent). The file gets the mode a plain ``open()`` would give it
    (``0o666`` less the umask, usually ``0644``), not the private ``0600`` of a temporary file.
    """
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        os.fchmod(fd, 0o666 & ~current_umask())
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def current_umask() -> int:
    """The process's umask, read without changing it where Linux exposes it (``/proc/self/status``)."""
    try:
        with open("/proc/self/status", encoding="ascii") as status:
            for line in status:
                if line.startswith("Umask:"):
                    return int(line.split()[1], 8)
    except (OSError, ValueError):
        pass
    mask = os.umask(0o022)  # elsewhere: set and restore (the only portable way to read it)
    os.umask(mask)
    return mask
