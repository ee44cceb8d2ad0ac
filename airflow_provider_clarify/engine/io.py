"""One I/O layer for the engine: local paths, ``file://`` and ``s3://`` through :mod:`pyarrow.fs`.

Why one layer: the engine reads datasets and writes results in three places (a developer's disk, a
processing container's mounts, S3) and every reader/writer must behave the same in all of them.
``storage_options`` carries S3 settings the way the Airflow connection knows them::

    {"endpoint_url": "http://127.0.0.1:5000", "aws_access_key_id": ..., "aws_secret_access_key": ...,
     "aws_session_token": ..., "region_name": "us-east-1"}

Without an ``endpoint_url`` the environment variables ``AWS_ENDPOINT_URL_S3`` / ``AWS_ENDPOINT_URL``
are honoured, as boto3 does.

Writes go through :class:`OutputLocation`, which never leaves a half-written file behind: local data
is written to a temporary sibling (``.tmp-<uuid>-<name>``) and renamed into place only once complete;
on S3 it is buffered and uploaded in one request, so the final key appears whole or not at all.
Every write stays inside the location (a relative name with ``..`` or an absolute one is refused),
local files get the usual ``0644``-under-umask mode, and with a ``kms_key`` every S3 object is
encrypted with SSE-KMS under that key.
"""

from __future__ import annotations

import contextlib
import gzip
import io as _stdio
import os
import posixpath
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from typing import IO, TYPE_CHECKING, Any
from urllib.parse import urlparse

from airflow_provider_clarify.engine.errors import EngineConfigError, EngineError

if TYPE_CHECKING:
    import pyarrow.fs as pafs

GZIP_MAGIC = b"\x1f\x8b"
_STORAGE_OPTION_KEYS = frozenset(
    {"endpoint_url", "aws_access_key_id", "aws_secret_access_key", "aws_session_token", "region_name"}
)


class EngineIOError(EngineError, OSError):
    """A dataset or output location cannot be read or written (names the URI and the fix)."""


@dataclass(frozen=True)
class ResolvedPath:
    """A URI split into the filesystem that serves it and the path inside that filesystem."""

    filesystem: pafs.FileSystem
    path: str
    scheme: str  # "file" or "s3"

    def uri(self, path: str | None = None) -> str:
        """The URI of ``path`` (default: this path) in the same scheme as the input."""
        path = self.path if path is None else path
        return f"s3://{path}" if self.scheme == "s3" else path


def _s3_filesystem(storage_options: dict | None) -> pafs.FileSystem:
    import pyarrow.fs as pafs

    options = dict(storage_options or {})
    unknown = set(options) - _STORAGE_OPTION_KEYS
    if unknown:
        raise EngineIOError(
            f"Unknown storage_options keys {sorted(unknown)}; accepted keys are {sorted(_STORAGE_OPTION_KEYS)}."
        )
    endpoint = (
        options.get("endpoint_url")
        or os.environ.get("AWS_ENDPOINT_URL_S3")
        or os.environ.get("AWS_ENDPOINT_URL")
    )
    kwargs: dict[str, Any] = {}
    if endpoint:
        parsed = urlparse(endpoint if "://" in endpoint else f"https://{endpoint}")
        kwargs["endpoint_override"] = parsed.netloc + parsed.path.rstrip("/")
        kwargs["scheme"] = parsed.scheme
    if options.get("aws_access_key_id"):
        kwargs["access_key"] = options["aws_access_key_id"]
        kwargs["secret_key"] = options.get("aws_secret_access_key")
        if options.get("aws_session_token"):
            kwargs["session_token"] = options["aws_session_token"]
    region = (
        options.get("region_name") or os.environ.get("AWS_REGION") or os.environ.get("AWS_DEFAULT_REGION")
    )
    if region:
        kwargs["region"] = region
    return pafs.S3FileSystem(**kwargs)


def resolve(uri: str, storage_options: dict | None = None) -> ResolvedPath:
    """Map a local path, ``file://`` URI or ``s3://`` URI onto a pyarrow filesystem and path."""
    import pyarrow.fs as pafs

    if not isinstance(uri, str) or not uri:
        raise EngineIOError(f"Expected a local path, file:// or s3:// URI, got {uri!r}.")
    if uri.startswith("s3://"):
        path = uri[len("s3://") :]
        if not path or path.startswith("/"):
            raise EngineIOError(f"Malformed S3 URI {uri!r}; expected s3://bucket/key.")
        return ResolvedPath(_s3_filesystem(storage_options), path.rstrip("/") or path, "s3")
    if uri.startswith("file://"):
        uri = urlparse(uri).path
    elif "://" in uri:
        raise EngineIOError(f"Unsupported URI scheme in {uri!r}; use a local path, file:// or s3://.")
    return ResolvedPath(pafs.LocalFileSystem(), os.path.abspath(os.path.expanduser(uri)), "file")


def _is_data_file(name: str) -> bool:
    """Skip marker and hidden files such as ``_SUCCESS``, ``.crc`` and ``.tmp-...`` siblings."""
    base = posixpath.basename(name)
    return bool(base) and not base.startswith((".", "_"))


def list_files(uri: str, storage_options: dict | None = None) -> list[str]:
    """The data files behind ``uri``: the file itself, every file under a folder/prefix (recursively,
    sorted), or every file whose name starts with the last path segment (``s3://b/data/part-``).

    Raises :class:`EngineIOError` naming the URI when nothing is found.
    """
    import pyarrow.fs as pafs

    resolved = resolve(uri, storage_options)
    fs, path = resolved.filesystem, resolved.path
    try:
        info = fs.get_file_info(path)
        if info.type == pafs.FileType.File:
            return [resolved.uri(path)]
        if info.type == pafs.FileType.Directory:
            infos = fs.get_file_info(pafs.FileSelector(path, recursive=True))
            files = sorted(
                i.path
                for i in infos
                if i.type == pafs.FileType.File and _is_data_file(i.path) and i.size != 0
            )
        else:
            parent, prefix = posixpath.split(path)
            parent_info = fs.get_file_info(parent) if parent else None
            if parent_info is None or parent_info.type != pafs.FileType.Directory:
                files = []
            else:
                infos = fs.get_file_info(pafs.FileSelector(parent, recursive=True))
                files = sorted(
                    i.path
                    for i in infos
                    if i.type == pafs.FileType.File
                    and i.path[len(parent) + 1 :].startswith(prefix)
                    and _is_data_file(i.path)
                )
    except OSError as exc:
        raise EngineIOError(f"Cannot list {uri!r}: {exc}") from exc
    if not files:
        raise EngineIOError(
            f"No data files found at {uri!r}. Give a file, a folder or a prefix of part files that exists."
        )
    return [resolved.uri(f) for f in files]


def read_bytes(uri: str, storage_options: dict | None = None, *, decompress: bool = True) -> bytes:
    """Read a whole object; gzip (by magic bytes) is decompressed unless ``decompress=False``."""
    resolved = resolve(uri, storage_options)
    try:
        with resolved.filesystem.open_input_stream(resolved.path, compression=None) as stream:
            data = stream.read()
    except (OSError, FileNotFoundError) as exc:
        raise EngineIOError(f"Cannot read {uri!r}: {exc}") from exc
    if decompress and data[:2] == GZIP_MAGIC:
        data = gzip.decompress(data)
    return data


def is_gzip(uri: str, storage_options: dict | None = None) -> bool:
    """Whether the object starts with the gzip magic bytes (the file name is not trusted)."""
    resolved = resolve(uri, storage_options)
    try:
        with resolved.filesystem.open_input_file(resolved.path) as handle:
            return handle.read(2) == GZIP_MAGIC
    except OSError as exc:
        raise EngineIOError(f"Cannot read {uri!r}: {exc}") from exc


def open_input(uri: str, storage_options: dict | None = None) -> IO[bytes]:
    """A binary stream over the object's content, transparently un-gzipped.

    The returned stream is a pyarrow ``NativeFile`` (or a :class:`gzip.GzipFile` around one); close it
    after use (it is a context manager).
    """
    import pyarrow as pa

    compressed = is_gzip(uri, storage_options)
    resolved = resolve(uri, storage_options)
    try:
        raw = resolved.filesystem.open_input_stream(resolved.path, compression=None)
    except OSError as exc:
        raise EngineIOError(f"Cannot read {uri!r}: {exc}") from exc
    if compressed:
        return pa.CompressedInputStream(raw, "gzip")
    return raw


def file_size(uri: str, storage_options: dict | None = None) -> int:
    """Size in bytes of one object (as stored, i.e. compressed size for gzip)."""
    resolved = resolve(uri, storage_options)
    try:
        info = resolved.filesystem.get_file_info(resolved.path)
    except OSError as exc:
        raise EngineIOError(f"Cannot read {uri!r}: {exc}") from exc
    return int(info.size or 0)


def join_uri(base: str, relpath: str) -> str:
    """``base`` + ``/`` + ``relpath`` without doubled slashes (works for paths and URIs)."""
    relpath = relpath.lstrip("/")
    return f"{base.rstrip('/')}/{relpath}" if relpath else base


def is_plain_name(name: str) -> bool:
    """Whether ``name`` is one file name: no path separator, not ``.``/``..``, no NUL, not empty."""
    return (
        isinstance(name, str)
        and bool(name)
        and name not in (".", "..")
        and not any(c in name for c in ("/", "\\", "\0"))
    )


def confined_relpath(relpath: str, *, field: str = "output file") -> str:
    """``relpath`` normalised, when it stays inside its folder; else :class:`EngineConfigError`.

    Refused: absolute paths, ``..`` segments, backslashes and empty names, so no configuration value
    (a report name, a file name built from one) can make the engine write outside its output location.
    """
    parts = relpath.split("/") if isinstance(relpath, str) else []
    clean = [p for p in parts if p not in ("", ".")]
    if (
        not isinstance(relpath, str)
        or relpath.startswith("/")
        or not clean
        or any(not is_plain_name(p) for p in clean)
    ):
        raise EngineConfigError(
            f"{field} {relpath!r} would be written outside the output location; give a relative name "
            "without '..', '\\' or a leading '/'.",
            field=field,
            value=relpath,
            accepted="a relative file name inside the output location",
        )
    return "/".join(clean)


class OutputLocation:
    """A folder (local path, ``file://`` or ``s3://`` prefix) that receives the engine's results.

    Every write is atomic: a temporary sibling is written completely and then renamed to its final
    name, so a reader (or a failed run) never sees a half-written ``analysis.json``. Every write stays
    inside the folder (:func:`confined_relpath`).

    :param uri: the output folder/prefix.
    :param storage_options: S3 settings (see the module docstring).
    :param kms_key: KMS key id, ARN or alias: every S3 object is written with SSE-KMS under it
        (``ServerSideEncryption="aws:kms"``, ``SSEKMSKeyId``). Ignored for local folders.
    """

    def __init__(self, uri: str, storage_options: dict | None = None, *, kms_key: str | None = None) -> None:
        self.uri = uri.rstrip("/") if uri not in ("/",) else uri
        self.storage_options = storage_options
        self.kms_key = kms_key or None
        self._resolved = resolve(self.uri, storage_options)

    def __repr__(self) -> str:
        return f"OutputLocation({self.uri!r})"

    def uri_for(self, relpath: str) -> str:
        """The URI (or local path) that ``relpath`` has under this location."""
        return join_uri(self.uri, confined_relpath(relpath))

    def _path_for(self, relpath: str) -> str:
        return join_uri(self._resolved.path, confined_relpath(relpath))

    def _s3_client(self) -> Any:
        """A boto3 S3 client with this location's settings (for what pyarrow's S3 filesystem cannot do)."""
        import boto3

        options = dict(self.storage_options or {})
        endpoint = (
            options.get("endpoint_url")
            or os.environ.get("AWS_ENDPOINT_URL_S3")
            or os.environ.get("AWS_ENDPOINT_URL")
        )
        return boto3.client(
            "s3",
            endpoint_url=endpoint or None,
            region_name=options.get("region_name"),
            aws_access_key_id=options.get("aws_access_key_id"),
            aws_secret_access_key=options.get("aws_secret_access_key"),
            aws_session_token=options.get("aws_session_token"),
        )

    def _put_s3(self, key_path: str, data: bytes) -> None:
        """One PUT of the whole object; SSE-KMS through boto3 when a key is set (pyarrow's S3
        filesystem cannot ask for SSE-KMS)."""
        if self.kms_key is None:
            with self._resolved.filesystem.open_output_stream(key_path) as stream:
                stream.write(data)
            return
        bucket, _, key = key_path.partition("/")
        self._s3_client().put_object(
            Bucket=bucket, Key=key, Body=data, ServerSideEncryption="aws:kms", SSEKMSKeyId=self.kms_key
        )

    @contextlib.contextmanager
    def open_atomic(self, relpath: str) -> Iterator[IO[bytes]]:
        """Stream-write ``relpath``; it appears under its final name only if the block succeeds.

        Local files: a temporary sibling renamed into place (``os.replace`` semantics). S3: the bytes
        are buffered and uploaded in one go after the block succeeds; S3 makes an object visible
        only once its upload completes, so readers never see a partial object.
        """
        fs = self._resolved.filesystem
        final = self._path_for(relpath)
        if self._resolved.scheme == "s3":
            from botocore.exceptions import BotoCoreError, ClientError

            buffer = _stdio.BytesIO()
            yield buffer
            try:
                self._put_s3(final, buffer.getvalue())
            except (OSError, BotoCoreError, ClientError) as exc:
                raise EngineIOError(f"Cannot write {self.uri_for(relpath)!r}: {exc}") from exc
            return
        parent, name = posixpath.split(final)
        temp = posixpath.join(parent, f".tmp-{uuid.uuid4().hex}-{name}")
        try:
            os.makedirs(parent, exist_ok=True)
            stream = fs.open_output_stream(temp)
        except OSError as exc:
            raise EngineIOError(f"Cannot write under {self.uri!r}: {exc}") from exc
        try:
            try:
                yield stream
            finally:
                stream.close()
            fs.move(temp, final)
        except BaseException:
            with contextlib.suppress(OSError):
                fs.delete_file(temp)
            raise

    def write_bytes(self, relpath: str, data: bytes) -> str:
        """Atomically write ``data`` to ``relpath``; returns its URI."""
        with self.open_atomic(relpath) as stream:
            stream.write(data)
        return self.uri_for(relpath)

    def write_text(self, relpath: str, text: str) -> str:
        """Atomically write UTF-8 ``text`` to ``relpath``; returns its URI."""
        return self.write_bytes(relpath, text.encode("utf-8"))

    def delete(self, relpath: str) -> bool:
        """Remove ``relpath`` under this location if it is there (one atomic delete, confined to the
        location like every write); returns whether something was removed."""
        import pyarrow.fs as pafs

        fs = self._resolved.filesystem
        path = self._path_for(relpath)
        try:
            if fs.get_file_info(path).type != pafs.FileType.File:
                return False
            if self._resolved.scheme == "s3":
                # One DeleteObject (pyarrow's delete_file would leave an empty "folder/" marker object).
                from botocore.exceptions import BotoCoreError, ClientError

                bucket, _, key = path.partition("/")
                try:
                    self._s3_client().delete_object(Bucket=bucket, Key=key)
                except (BotoCoreError, ClientError) as exc:
                    raise OSError(str(exc)) from exc
            else:
                fs.delete_file(path)
        except FileNotFoundError:
            return False
        except OSError as exc:
            raise EngineIOError(f"Cannot delete {self.uri_for(relpath)!r}: {exc}") from exc
        return True

    def exists(self, relpath: str) -> bool:
        """Whether ``relpath`` exists under this location."""
        import pyarrow.fs as pafs

        info = self._resolved.filesystem.get_file_info(self._path_for(relpath))
        return info.type != pafs.FileType.NotFound


__all__ = ["EngineIOError", "OutputLocation", "confined_relpath", "list_files", "open_input", "read_bytes"]
