"""Is the web port free? granian binds with SO_REUSEPORT, so a second server on a port in use
starts without a word and takes part of the requests: check before starting anything."""

from __future__ import annotations

import errno
import socket

from feedsvc.errors import ConfigError


class PortInUse(ConfigError):
    """Something listens on FEEDSVC_BIND's port already; the message names it."""


def check_port_free(host: str, port: int) -> None:
    """Raise PortInUse when a server listens on `host`:`port` already."""
    try:
        addresses = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE)
    except socket.gaierror:
        return  # the server says plainly that it cannot resolve the host
    for family, kind, protocol, _, address in addresses:
        with socket.socket(family, kind, protocol) as probe:
            # SO_REUSEADDR: a socket of a server stopped a moment ago does not count.
            probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            try:
                probe.bind(address)
            except OSError as exc:
                if exc.errno == errno.EADDRINUSE:
                    raise PortInUse(
                        f"port {port} on {host} is already in use: stop what listens there "
                        "or set FEEDSVC_BIND to a free port"
                    ) from None
