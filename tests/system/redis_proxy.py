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
class Tally:
    """The commands counted so far and what to do at the N-th: shared by the proxies of
    every node of a cluster, so N counts the client's commands to any of them."""

    commands: int = 0
    armed: Armed = field(default_factory=Armed)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def arm(self, pid: int, after: int, before_last: Callable[[], object]) -> None:
        """Count from zero; kill `pid` after `after` commands (0: never)."""
        with self.lock:
            self.commands = 0
            self.armed = Armed(pid, after, before_last)


@dataclass
class CommandProxy:
    """Forwards whole RESP commands one at a time, so a kill falls between two commands."""

    upstream: tuple[str, int]
    tally: Tally = field(default_factory=Tally)
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
        self.tally.arm(pid, after, before_last)

    def close(self) -> None:
        self.listener.close()

    def _accept(self) -> None:
        while True:
            try:
                client, _ = self.listener.accept()
            except OSError:
                return
            server = socket.create_connection(self.upstream)
            for sock in (client, server):  # one small write per command: no Nagle delays
                sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
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
        tally = self.tally
        with tally.lock:
            if tally.armed.fired:
                return  # the client is dead: nothing after its N-th command reaches Redis
            if tally.commands + 1 == tally.armed.after:
                tally.armed.before_last()
            server.sendall(command)
            tally.commands += 1
            if tally.armed.after and tally.commands == tally.armed.after:
                os.kill(tally.armed.pid, signal.SIGKILL)
                tally.armed.fired = True


@dataclass
class ClusterProxies:
    """A CommandProxy in front of each node of a cluster, counting together; a client
    reaches the nodes through them with `remap` as its address_remap."""

    nodes: list[int]
    tally: Tally = field(default_factory=Tally)
    proxies: dict[int, CommandProxy] = field(default_factory=dict)

    def start(self) -> ClusterProxies:
        for port in self.nodes:
            self.proxies[port] = CommandProxy(("127.0.0.1", port), self.tally).start()
        return self

    def remap(self, address: tuple[str, int]) -> tuple[str, int]:
        host, port = address
        return (host, self.proxies[port].port) if port in self.proxies else address

    def arm(self, pid: int, after: int, before_last: Callable[[], object]) -> None:
        self.tally.arm(pid, after, before_last)

    def close(self) -> None:
        for proxy in self.proxies.values():
            proxy.close()


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
