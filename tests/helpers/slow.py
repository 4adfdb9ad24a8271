"""Phones on a weak signal: a client that sends its headers, then its body one byte at a time."""

import socket
import threading
import time


class SlowClient(threading.Thread):
    """POSTs `body` to `path` on 127.0.0.1:`port`, one byte every `interval` seconds.

    With `stall_after` it goes silent after that many bytes and waits for the server to give up (a phone
    that lost its signal mid-upload). `connected` is set once the headers and a first byte are out;
    afterwards `status` holds the answer's status code (None: no answer) and `answer` its raw bytes.
    """

    def __init__(self, port: int, path: str, body: bytes, *, interval: float = 0.5,
                 stall_after: int | None = None, headers: dict | None = None, give_up_after: float = 120):
        super().__init__(daemon=True)
        self.port, self.path, self.body, self.interval = port, path, body, interval
        self.stall_after, self.headers, self.give_up_after = stall_after, headers or {}, give_up_after
        self.connected = threading.Event()
        self.status: int | None = None
        self.answer = b""
        self.error: str | None = None
        self.finished_at: float | None = None

    def run(self) -> None:
        """Send, trickling, then read the whole answer (the connection is closed after it)."""
        try:
            with socket.create_connection(("127.0.0.1", self.port), timeout=self.give_up_after) as sock:
                head = [f"POST {self.path} HTTP/1.1", f"Host: 127.0.0.1:{self.port}",
                        "Content-Type: application/json", f"Content-Length: {len(self.body)}", "Connection: close",
                        *(f"{k}: {v}" for k, v in self.headers.items())]
                sock.sendall(("\r\n".join(head) + "\r\n\r\n").encode())
                self._trickle(sock)  # a stalled client stays silent, connected, until the server gives up
                self._read(sock)
        except OSError as err:
            self.error = repr(err)
        finally:
            self.connected.set()
            self.finished_at = time.monotonic()

    def _trickle(self, sock: socket.socket) -> int:
        limit = len(self.body) if self.stall_after is None else self.stall_after
        for i in range(limit):
            try:
                sock.sendall(self.body[i:i + 1])
            except OSError:
                return i  # the server has answered and closed (e.g. 408 for a stalled peer)
            self.connected.set()
            time.sleep(self.interval)
        return limit

    def _read(self, sock: socket.socket) -> None:
        chunks = []
        while True:
            try:
                chunk = sock.recv(65536)
            except ConnectionResetError:
                break
            if not chunk:
                break
            chunks.append(chunk)
        self.answer = b"".join(chunks)
        if self.answer.startswith(b"HTTP/1."):
            self.status = int(self.answer.split(b" ", 2)[1])

    @property
    def body_text(self) -> bytes:
        """The answer's body (after the blank line)."""
        return self.answer.partition(b"\r\n\r\n")[2]


def start_slow_clients(clients: list[SlowClient], timeout: float = 30) -> None:
    """Start every client and wait until each has its headers and a first byte out."""
    for c in clients:
        c.start()
    deadline = time.monotonic() + timeout
    for c in clients:
        c.connected.wait(max(0.0, deadline - time.monotonic()))
