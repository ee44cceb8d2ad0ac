"""A small local HTTP model server speaking the SageMaker hosting contract, for tests.

It wraps a Python callable ``fn(features_2d: numpy.ndarray) -> scores`` (1-D ``(n,)`` or 2-D
``(n, k)``; or strings for label-only models) and serves it on ``127.0.0.1`` (a free port) from a
background thread:

* ``GET /ping`` -> 200.
* ``POST /invocations`` with ``Content-Type``:

  - ``text/csv``: one record per line (cells that parse as numbers become floats, others stay text);
  - ``application/jsonlines``: one JSON value per line, either a feature list or an object whose
    ``features_key`` (default ``"features"``) holds the list;
  - ``application/json``: ``{"instances": [...]}`` or a bare list; each instance a feature list, an
    object with ``features_key``, or a ``{"name": value}`` object (values in key order).

  The answer follows the ``Accept`` header (default: the content type):

  - ``text/csv``: one line per record, the scores comma-separated (or the label);
  - ``application/jsonlines``: one line per record, ``record_formatter(row)`` (default
    ``{"score": s}`` for one output, ``{"scores": [...]}`` for several, ``{"label": x}`` for text);
  - ``application/json``: ``{"predictions": [record_formatter(row), ...]}``.

Usage::

    from tests.support.model_server import ModelServer

    with ModelServer(lambda x: x[:, 0] * 0.1) as server:
        HttpPredictor(server.url).predict(features)
        server.calls            # POST /invocations requests answered (including failed ones)
        server.records          # records received in successful requests
        server.payload_sizes    # body size of every request

Fault injection for tests:

* ``server.fail_next(count, status=503)``: the next ``count`` invocations answer ``status``.
* ``server.drop_one = True``: every answer has one prediction too few.
* ``max_body_bytes=N``: requests larger than N bytes get HTTP 413 (checks payload splitting).

The server is thread-safe enough for concurrent clients (``ThreadingHTTPServer``; counters are
guarded by a lock).
"""

from __future__ import annotations

import csv
import io
import json
import threading
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import numpy as np


def _cell(text: str) -> Any:
    try:
        return float(text)
    except ValueError:
        return text


def _as_matrix(rows: list[list]) -> np.ndarray:
    try:
        return np.asarray(rows, dtype=np.float64)
    except (TypeError, ValueError):
        out = np.empty((len(rows), len(rows[0]) if rows else 0), dtype=object)
        for i, row in enumerate(rows):
            out[i, :] = row
        return out


def _csv_value(value: Any) -> str:
    """One CSV cell: floats (numpy's too) as the shortest repr that round-trips, ints as digits.

    numpy scalars can survive ``tolist()`` (object arrays keep them), and under numpy 2 their repr
    is ``np.float64(0.5)``, which no CSV reader parses; hence ``float(...)`` first.
    """
    if isinstance(value, float | np.floating):
        return repr(float(value))
    if isinstance(value, np.integer):
        return str(int(value))
    return str(value)


def default_record_formatter(row: Any) -> Any:
    """``{"score": s}``, ``{"scores": [...]}`` or ``{"label": x}`` for one record's output."""
    if isinstance(row, list | tuple | np.ndarray):
        values = [v.item() if hasattr(v, "item") else v for v in row]
        return {"scores": values} if len(values) != 1 else {"score": values[0]}
    value = row.item() if hasattr(row, "item") else row
    return {"label": value} if isinstance(value, str) else {"score": value}


class ModelServer:
    """See the module docstring.

    :param fn: the model, ``fn(features_2d) -> predictions``.
    :param features_key: key of the feature list in JSON records.
    :param record_formatter: JSON value of one record's prediction (JSON / JSON Lines answers).
    :param max_body_bytes: reject larger requests with HTTP 413.
    """

    def __init__(
        self,
        fn: Callable[[np.ndarray], Any],
        *,
        features_key: str = "features",
        record_formatter: Callable[[Any], Any] = default_record_formatter,
        max_body_bytes: int | None = None,
    ) -> None:
        self.fn = fn
        self.features_key = features_key
        self.record_formatter = record_formatter
        self.max_body_bytes = max_body_bytes
        self.calls = 0
        self.ping_calls = 0
        self.records = 0
        self.payload_sizes: list[int] = []
        self.drop_one = False
        self._failures: list[int] = []
        self._lock = threading.Lock()
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler_class())
        self._server.daemon_threads = True
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        host, port = self._server.server_address[:2]
        return f"http://{host}:{port}"

    def start(self) -> ModelServer:
        self._thread.start()
        return self

    def stop(self) -> None:
        if self._thread.is_alive():
            self._server.shutdown()
        self._server.server_close()

    def __enter__(self) -> ModelServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def fail_next(self, count: int, status: int = 503) -> None:
        """Answer the next ``count`` invocations with HTTP ``status``."""
        with self._lock:
            self._failures.extend([status] * count)

    # -- request handling -------------------------------------------------------------------------

    def _parse(self, content_type: str, body: bytes) -> np.ndarray:
        text = body.decode("utf-8")
        if content_type.startswith("text/csv"):
            rows = [[_cell(c) for c in row] for row in csv.reader(io.StringIO(text)) if row]
        elif content_type.startswith("application/jsonlines"):
            rows = [self._features(json.loads(line)) for line in text.splitlines() if line.strip()]
        elif content_type.startswith("application/json"):
            document = json.loads(text)
            instances = document.get("instances", document) if isinstance(document, dict) else document
            rows = [self._features(item) for item in instances]
        else:
            raise ValueError(f"unsupported content type {content_type!r}")
        return _as_matrix(rows)

    def _features(self, item: Any) -> list:
        if isinstance(item, list):
            return item
        if isinstance(item, dict) and self.features_key in item:
            return item[self.features_key]
        if isinstance(item, dict):
            return list(item.values())
        raise ValueError(f"cannot find features in {item!r}")

    def _render(self, accept: str, predictions: Any) -> tuple[str, bytes]:
        rows = list(predictions)
        if accept.startswith("text/csv"):
            lines = []
            for row in rows:
                values = np.asarray(row).tolist()
                values = values if isinstance(values, list) else [values]
                lines.append(",".join(_csv_value(v) for v in values))
            return "text/csv", ("\n".join(lines) + "\n").encode()
        records = [self.record_formatter(row) for row in rows]
        if accept.startswith("application/jsonlines"):
            return "application/jsonlines", ("\n".join(json.dumps(r) for r in records) + "\n").encode()
        return "application/json", json.dumps({"predictions": records}).encode()

    def _handler_class(self) -> type[BaseHTTPRequestHandler]:
        server = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, format: str, *args: Any) -> None:  # keep test output quiet
                return

            def _send(self, status: int, content_type: str, body: bytes) -> None:
                self.send_response(status)
                self.send_header("Content-Type", content_type)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def do_GET(self) -> None:
                if self.path.rstrip("/") == "/ping":
                    with server._lock:
                        server.ping_calls += 1
                    self._send(200, "text/plain", b"")
                else:
                    self._send(404, "text/plain", b"not found")

            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length)
                if self.path.rstrip("/") != "/invocations":
                    self._send(404, "text/plain", b"not found")
                    return
                with server._lock:
                    server.calls += 1
                    server.payload_sizes.append(len(body))
                    failure = server._failures.pop(0) if server._failures else None
                if failure is not None:
                    self._send(failure, "text/plain", f"injected failure {failure}".encode())
                    return
                if server.max_body_bytes is not None and len(body) > server.max_body_bytes:
                    self._send(413, "text/plain", b"payload too large")
                    return
                content_type = self.headers.get("Content-Type", "text/csv")
                accept = self.headers.get("Accept") or content_type
                try:
                    features = server._parse(content_type, body)
                    predictions = np.asarray(server.fn(features))
                except Exception as exc:
                    self._send(400, "text/plain", f"model error: {exc}".encode())
                    return
                with server._lock:
                    server.records += len(features)
                if server.drop_one:
                    predictions = predictions[:-1]
                kind, payload = server._render(accept, predictions)
                self._send(200, kind, payload)

        return Handler
