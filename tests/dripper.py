"""A local HTTP server that answers 200 at once and then drips its body a byte at a time: an endpoint whose
answer never ends in time however long a read timeout between bytes would wait (issue 24)."""

import socket
import threading


class Dripper:
    """Answers 200 at once, then drips one byte of its body every ``every`` seconds (never finishing in time)."""

    def __init__(self, every: float = 0.2, length: int = 1000):
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(64)
        self.every, self.length = every, length
        self.stop = threading.Event()
        self.requests = 0
        self.lock = threading.Lock()
        threading.Thread(target=self._serve, daemon=True).start()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.sock.getsockname()[1]}/hooks"

    def _serve(self):
        while not self.stop.is_set():
            try:
                conn, _ = self.sock.accept()
            except OSError:
                return
            threading.Thread(target=self._drip, args=(conn,), daemon=True).start()

    def _drip(self, conn):
        with conn:
            try:
                conn.recv(65536)
                with self.lock:
                    self.requests += 1
                conn.sendall(f"HTTP/1.1 200 OK\r\nContent-Length: {self.length}\r\n\r\n".encode())
                for _ in range(self.length):
                    if self.stop.wait(self.every):
                        return
                    conn.sendall(b".")
            except OSError:
                return

    def close(self):
        self.stop.set()
        self.sock.close()
