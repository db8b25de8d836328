"""A Redis Cluster on loopback ports for the tests: three masters, each with a replica.

Started with `redis-server --cluster-enabled yes` and joined with `redis-cli --cluster
create`, as an operator would; a test may kill a master and wait for its replica to take
over.
"""

from __future__ import annotations

import shutil
import signal
import subprocess
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import redis

from feedsvc.process.localredis import free_port, port_is_free

MASTERS = 3
NODE_TIMEOUT_MS = 1000  # how long a master may be silent before its replica takes over
READY_SECONDS = 30.0


BUS_PORT_OFFSET = 10000  # each node also listens on its port + 10000 for the cluster bus


def _node_port() -> int:
    """A free port whose cluster-bus port is free too (and below 65536)."""
    while True:
        port = free_port()
        if port + BUS_PORT_OFFSET < 65536 and port_is_free(port + BUS_PORT_OFFSET):
            return port


class ClusterMissing(Exception):
    """redis-server or redis-cli is not installed: the cluster tests cannot run here."""


@dataclass
class LocalCluster:
    """Six redis-server processes (three masters and a replica each) in `data_dir`."""

    data_dir: Path
    ports: list[int] = field(default_factory=list)
    processes: dict[int, subprocess.Popen[bytes]] = field(default_factory=dict)

    @staticmethod
    def missing() -> str | None:
        """Why no cluster can be started here, or None when one can."""
        for binary in ("redis-server", "redis-cli"):
            if shutil.which(binary) is None:
                return f"{binary} is not installed (apt-get install redis-server)"
        return None

    def start(self) -> LocalCluster:
        if (why := self.missing()) is not None:
            raise ClusterMissing(why)
        self.ports = [_node_port() for _ in range(MASTERS * 2)]
        for port in self.ports:
            self.processes[port] = self._start_node(port)
        self._wait(lambda port: self._command(port, "PING"))
        if dead := [port for port, p in self.processes.items() if p.poll() is not None]:
            raise ClusterMissing(f"redis-server did not start on ports {dead}")
        nodes = [f"127.0.0.1:{port}" for port in self.ports]
        subprocess.run(
            ["redis-cli", "--cluster", "create", *nodes, "--cluster-replicas", "1",
             "--cluster-yes"],
            check=True, capture_output=True, timeout=60,
        )  # fmt: skip
        self.wait_ready()
        return self

    @property
    def url(self) -> str:
        """The documented form naming a cluster by any one of its nodes."""
        return f"redis+cluster://127.0.0.1:{self.ports[0]}"

    def urls(self) -> list[str]:
        return [f"redis+cluster://127.0.0.1:{port}" for port in self.ports]

    def masters(self) -> list[int]:
        """The ports of the nodes serving slots now."""
        return [port for port in self.live_ports() if self._role(port) == "master"]

    def live_ports(self) -> list[int]:
        return [port for port, process in self.processes.items() if process.poll() is None]

    def master_of(self, key: str) -> int:
        """The port of the master that holds `key` now."""
        port = self.live_ports()[0]
        slot = int(self._command(port, "CLUSTER", "KEYSLOT", key))
        for start, end, master, *_ in self._command(port, "CLUSTER", "SLOTS"):
            if start <= slot <= end:
                return int(master[1])
        raise LookupError(f"no node serves slot {slot}")

    def wait_replicated(self, port: int) -> None:
        """Until the replicas of the master on `port` have every write it took so far
        (replication is asynchronous: a write not yet copied dies with its master)."""
        role = self._command(port, "ROLE")
        written = int(role[1])
        deadline = time.monotonic() + READY_SECONDS
        while any(int(offset) < written for _host, _port, offset in self._command(port, "ROLE")[2]):
            if time.monotonic() > deadline:
                raise TimeoutError(f"the replicas of {port} did not catch up")
            time.sleep(0.01)

    def kill(self, port: int) -> None:
        """SIGKILL one node, as a crashed host would go."""
        process = self.processes[port]
        process.send_signal(signal.SIGKILL)
        process.wait(timeout=10)

    def restart(self, port: int) -> None:
        """Start a killed node again: it rejoins the cluster (as a replica if replaced)."""
        self.processes[port] = self._start_node(port)
        self.wait_ready()

    def wait_ready(self) -> None:
        """Until every live node says the cluster is ok and every slot has a master."""
        self._wait(self._ok)

    def stop(self) -> None:
        for process in self.processes.values():
            if process.poll() is None:
                process.terminate()
        for process in self.processes.values():
            process.wait(timeout=10)

    def _ok(self, port: int) -> bool:
        """The node sees the cluster ok and, a replica, has its master's data (it cannot
        take over before its first sync)."""
        info = str(self._command(port, "CLUSTER", "INFO"))
        role = self._command(port, "ROLE")
        synced = role[0] != "slave" or role[3] == "connected"
        return "cluster_state:ok" in info and "cluster_slots_ok:16384" in info and synced

    def _role(self, port: int) -> str:
        return str(self._command(port, "ROLE")[0])

    def _wait(self, check: Callable[[int], object]) -> None:
        deadline = time.monotonic() + READY_SECONDS
        while True:
            try:
                if all(check(port) for port in self.live_ports()):
                    return
            except redis.RedisError:
                pass
            if time.monotonic() > deadline:
                raise TimeoutError(f"the local cluster in {self.data_dir} did not get ready")
            time.sleep(0.05)

    def _command(self, port: int, *args: str) -> Any:
        with redis.Redis(port=port, decode_responses=True, socket_timeout=2) as client:
            return client.execute_command(*args)

    def _start_node(self, port: int) -> subprocess.Popen[bytes]:
        node_dir = self.data_dir / str(port)
        node_dir.mkdir(parents=True, exist_ok=True)
        args = ["redis-server", "--bind", "127.0.0.1", "--port", str(port), "--dir",
                str(node_dir), "--cluster-enabled", "yes", "--cluster-config-file", "nodes.conf",
                "--cluster-node-timeout", str(NODE_TIMEOUT_MS), "--save", "",
                "--appendonly", "no", "--logfile", "redis.log"]  # fmt: skip
        return subprocess.Popen(args, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
