"""A minimal model server for a scikit-learn artifact, speaking the SageMaker hosting contract.

For local runs and demos where no model server exists yet: ``GET /ping`` and ``POST /invocations``
with ``text/csv`` records (numbers), answering one CSV line per record with the model's scores
(``predict_proba``; the positive-class column for binary classifiers, else every column; models
without ``predict_proba`` answer ``predict``)::

    python -m airflow_provider_clarify.engine.explain_server.artifact_server --artifact model.joblib --port 8080

Load only artifacts you trust: joblib/pickle files run code when loaded.
"""

from __future__ import annotations

import argparse
import csv
import io
from typing import Any

import numpy as np


def score(model: Any, rows: np.ndarray) -> np.ndarray:
    if hasattr(model, "predict_proba"):
        proba = np.asarray(model.predict_proba(rows), dtype=np.float64)
        return proba[:, 1:] if proba.shape[1] == 2 else proba
    return np.asarray(model.predict(rows), dtype=np.float64).reshape(len(rows), -1)


def create_model_app(model: Any) -> Any:
    """Starlette app serving ``model`` (already loaded)."""
    import anyio
    from starlette.applications import Starlette
    from starlette.requests import Request
    from starlette.responses import Response
    from starlette.routing import Route

    def answer(body: bytes) -> bytes:
        rows = [[float(cell) for cell in row] for row in csv.reader(io.StringIO(body.decode())) if row]
        scores = score(model, np.asarray(rows, dtype=np.float64))
        return ("\n".join(",".join(map(repr, row)) for row in scores.tolist()) + "\n").encode()

    async def invocations(request: Request) -> Response:
        if not request.headers.get("content-type", "text/csv").startswith("text/csv"):
            return Response(b"this server reads text/csv only", status_code=415)
        body = await request.body()
        try:
            payload = await anyio.to_thread.run_sync(answer, body)
        except ValueError as err:
            return Response(f"cannot score the records: {err}".encode(), status_code=400)
        return Response(payload, media_type="text/csv")

    async def ping(request: Request) -> Response:
        return Response(b"")

    return Starlette(routes=[Route("/invocations", invocations, methods=["POST"]), Route("/ping", ping)])


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--artifact", required=True, help="joblib file of a fitted scikit-learn model")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8080)
    args = parser.parse_args(argv)
    import joblib
    import uvicorn

    uvicorn.run(
        create_model_app(joblib.load(args.artifact)), host=args.host, port=args.port, log_level="warning"
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
