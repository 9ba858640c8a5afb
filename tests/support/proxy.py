"""A TCP proxy a test can cut, so a process loses its database without the database stopping;
with several upstreams it takes turns between them, one connection each (a round-robin
balancer with no affinity)."""

from __future__ import annotations

import itertools
import socket
import threading
from collections import Counter
from contextlib import suppress


class TcpProxy:
    """Forwards 127.0.0.1:<port> to an upstream; cut() drops every connection and refuses new
    ones (as a stopped server would) until restore()."""

    def __init__(self, upstream_host: str, upstream_port: int, *more: tuple[str, int]) -> None:
        self.upstream = (upstream_host, upstream_port)
        self._turns = itertools.cycle([self.upstream, *more])
        #: connections forwarded to each upstream
        self.connections: Counter[tuple[str, int]] = Counter()
        self._listener = socket.create_server(("127.0.0.1", 0))
        self.port = int(self._listener.getsockname()[1])
        self._open = threading.Event()
        self._open.set()
        self._lock = threading.Lock()
        self._sockets: set[socket.socket] = set()
        self._thread = threading.Thread(target=self._accept, daemon=True)
        self._thread.start()

    def cut(self) -> None:
        """Drop every open connection; new ones are closed at once."""
        self._open.clear()
        with self._lock:
            for sock in self._sockets:
                with suppress(OSError):
                    sock.shutdown(socket.SHUT_RDWR)
                sock.close()
            self._sockets.clear()

    def restore(self) -> None:
        """Forward again."""
        self._open.set()

    def close(self) -> None:
        """Stop listening and drop everything."""
        self.cut()
        self._listener.close()

    def _accept(self) -> None:
        while True:
            try:
                client, _ = self._listener.accept()
            except OSError:
                return
            if not self._open.is_set():
                client.close()
                continue
            target = next(self._turns)
            self.connections[target] += 1
            try:
                server = socket.create_connection(target, timeout=5)
            except OSError:
                client.close()
                continue
            server.settimeout(None)
            with self._lock:
                self._sockets.update((client, server))
            for src, dst in ((client, server), (server, client)):
                threading.Thread(target=self._pump, args=(src, dst), daemon=True).start()

    def _pump(self, src: socket.socket, dst: socket.socket) -> None:
        with suppress(OSError):
            while data := src.recv(65536):
                dst.sendall(data)
        for sock in (src, dst):
            with suppress(OSError):
                sock.shutdown(socket.SHUT_RDWR)
