# Copyright (c) OpenMMLab. All rights reserved.
"""A loopback HTTP server for the checkpoint download tests (no test touches the internet).

It listens on 127.0.0.1 only (an ephemeral port), serves from a thread, and stops itself after
``SERVER_LIFETIME_S`` whatever happens; :func:`serving` also bounds every client socket read.
"""

import contextlib
import socket
import threading
from http.server import BaseHTTPRequestHandler, HTTPServer
from typing import Dict, Iterator, List, Optional

SERVER_LIFETIME_S = 120  # the server stops itself after this, whatever happens
CLIENT_SOCKET_TIMEOUT_S = 30  # no client read can hang forever (see serving())


class CheckpointServer:
    """Serves ``files`` (URL path -> bytes) on 127.0.0.1, logging requests.

    Args:
        events (list[str], optional): Also gets ``'GET <path>'`` for each request (to check the
            order of requests against other events).
    """

    def __init__(self, events: Optional[List[str]] = None) -> None:
        self.files: Dict[str, bytes] = {}
        self.requests: List[str] = []
        files, requests = self.files, self.requests

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:  # noqa: N802
                requests.append(self.path)
                if events is not None:
                    events.append(f'GET {self.path}')
                body = files.get(self.path)
                if body is None:
                    self.send_error(404, 'Not Found')
                    return
                self.send_response(200)
                self.send_header('Content-Type', 'application/octet-stream')
                self.send_header('Content-Length', str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args) -> None:
                pass

        self.httpd = HTTPServer(('127.0.0.1', 0), Handler)
        self.httpd.timeout = 10
        self.thread = threading.Thread(
            target=self.httpd.serve_forever, kwargs=dict(poll_interval=0.05), daemon=True
        )
        self.watchdog = threading.Timer(SERVER_LIFETIME_S, self.httpd.shutdown)
        self.watchdog.daemon = True

    def url(self, path: str) -> str:
        host, port = self.httpd.server_address[:2]
        return f'http://{host}:{port}{path}'

    def start(self) -> None:
        self.thread.start()
        self.watchdog.start()

    def stop(self) -> None:
        self.watchdog.cancel()
        self.httpd.shutdown()
        self.httpd.server_close()
        self.thread.join(timeout=10)


@contextlib.contextmanager
def serving(events: Optional[List[str]] = None) -> Iterator[CheckpointServer]:
    """A started :class:`CheckpointServer`, stopped on exit; meanwhile the default socket
    timeout is ``CLIENT_SOCKET_TIMEOUT_S`` (restored on exit)."""
    previous_timeout = socket.getdefaulttimeout()
    socket.setdefaulttimeout(CLIENT_SOCKET_TIMEOUT_S)
    srv = CheckpointServer(events)
    srv.start()
    try:
        yield srv
    finally:
        srv.stop()
        socket.setdefaulttimeout(previous_timeout)
