"""Run the open explainer's ASGI app on 127.0.0.1 (a free port) with uvicorn, from a background thread.

with ExplainerServer(create_app(config, model.url)) as server:
    httpx.post(server.url + "/invocations", ...)
"""

from __future__ import annotations

import threading
import time
from typing import Any


class ExplainerServer:
    def __init__(self, app: Any) -> None:
        import uvicorn

        config = uvicorn.Config(app, host="127.0.0.1", port=0, log_level="warning", lifespan="on")
        self.server = uvicorn.Server(config)
        self._thread = threading.Thread(target=self.server.run, daemon=True)

    @property
    def url(self) -> str:
        host, port = self.server.servers[0].sockets[0].getsockname()[:2]
        return f"http://{host}:{port}"

    def __enter__(self) -> ExplainerServer:
        self._thread.start()
        for _ in range(1000):  # wait for the socket (a loop over a flag, not a timing assertion)
            if self.server.started:
                return self
            if not self._thread.is_alive():
                raise RuntimeError("the explainer server did not start")
            time.sleep(0.01)
        raise RuntimeError("the explainer server did not start")

    def __exit__(self, *exc: object) -> None:
        self.server.should_exit = True
        self._thread.join(timeout=30)
