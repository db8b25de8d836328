"""A TCP proxy in front of Redis that counts the commands a client sends and can kill the
client with SIGKILL right after its N-th command has been handed to Redis.

Just before the N-th command goes through, `before_last` runs: a test looks at the state
the first N-1 commands left (a reader fetching every feed, say)."""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import threading
from collections.abc import Callable
from dataclasses import dataclass, field


@dataclass
class Armed:
    """Kill `pid` once `after` commands have gone through; `fired` tells whether it did."""

    pid: int = 0
    after: int = 0
    before_last: Callable[[], object] = lambda: None
    fired: bool = False


@dataclass
class CommandProxy:
    """Forwards whole RESP commands one at a time, so a kill falls between two commands."""

    upstream: tuple[str, int]
    commands: int = 0
    armed: Armed = field(default_factory=Armed)
    lock: threading.Lock = field(default_factory=threading.Lock)
    listener: socket.socket = field(default_factory=socket.socket)

    def start(self) -> CommandProxy:
        self.listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.listener.bind(("127.0.0.1", 0))
        self.listener.listen(64)
        threading.Thread(target=self._accept, daemon=True).start()
        return self

    @property
    def port(self) -> int:
        return int(self.listener.getsockname()[1])

    def arm(self, pid: int, after: int, before_last: Callable[[], object]) -> None:
        """Count from zero; kill `pid` after `after` commands (0: never)."""
        with self.lock:
            self.commands = 0
            self.armed = Armed(pid, after, before_last)

    def close(self) -> None:
        self.listener.close()

    def _accept(self) -> None:
        while True:
            try:
                client, _ = self.listener.accept()
            except OSError:
                return
            server = socket.create_connection(self.upstream)
            threading.Thread(target=self._commands, args=(client, server), daemon=True).start()
            threading.Thread(target=_copy, args=(server, client), daemon=True).start()

    def _commands(self, client: socket.socket, server: socket.socket) -> None:
        buffer = b""
        while chunk := _receive(client):
            buffer += chunk
            while (end := command_end(buffer)) is not None:
                self._forward(buffer[:end], server)
                buffer = buffer[end:]
        _close(client, server)

    def _forward(self, command: bytes, server: socket.socket) -> None:
        with self.lock:
            if self.armed.fired:
                return  # the client is dead: nothing after its N-th command reaches Redis
            if self.commands + 1 == self.armed.after:
                self.armed.before_last()
            server.sendall(command)
            self.commands += 1
            if self.armed.after and self.commands == self.armed.after:
                os.kill(self.armed.pid, signal.SIGKILL)
                self.armed.fired = True


def command_end(buffer: bytes) -> int | None:
    """Where the first complete RESP array (one command) in `buffer` ends, if it is whole."""
    line_end = buffer.find(b"\r\n")
    if line_end < 0:
        return None
    if not buffer.startswith(b"*"):
        return line_end + 2  # an inline command: one line
    position = line_end + 2
    for _ in range(int(buffer[1:line_end])):
        header_end = buffer.find(b"\r\n", position)
        if header_end < 0:
            return None
        length = int(buffer[position + 1 : header_end])
        position = header_end + 2 + length + 2
        if position > len(buffer):
            return None
    return position


def _receive(sock: socket.socket) -> bytes:
    try:
        return sock.recv(65536)
    except OSError:
        return b""


def _copy(source: socket.socket, target: socket.socket) -> None:
    while data := _receive(source):
        try:
            target.sendall(data)
        except OSError:
            break
    _close(source, target)


def _close(*sockets: socket.socket) -> None:
    for sock in sockets:
        with contextlib.suppress(OSError):
            sock.close()
