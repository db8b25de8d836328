"""feedsvc-up's children: each in a process group of its own, stopped with all it started.

A terminal's Ctrl-C signals its whole foreground process group at once. Children in that
group (granian's main process and its workers, the worker, redis-server) would each stop on
their own, in any order and in the middle of starting, and a granian worker could outlive
its main process. In groups of their own, only feedsvc-up hears Ctrl-C; it stops its
children one by one, and then ends whatever is left of each child's group.
"""

from __future__ import annotations

import contextlib
import ctypes
import os
import signal
import subprocess
import sys
import time

PR_SET_CHILD_SUBREAPER = 36  # <linux/prctl.h>


class Children:
    """The processes feedsvc-up started, watched together and stopped in reverse order."""

    def __init__(self) -> None:
        # each process, with how long it may take between SIGTERM and SIGKILL
        self.started: list[tuple[subprocess.Popen[bytes], float]] = []
        self.stopping = False

    def catch_signals(self) -> None:
        """From now on SIGINT and SIGTERM ask for a stop instead of interrupting anything."""
        become_subreaper()
        signal.signal(signal.SIGINT, self._request_stop)
        signal.signal(signal.SIGTERM, self._request_stop)

    def _request_stop(self, _signum: int, _frame: object) -> None:
        self.stopping = True

    def adopt(self, process: subprocess.Popen[bytes], stop_timeout_seconds: float) -> None:
        self.started.append((process, stop_timeout_seconds))

    def spawn(self, command: list[str], stop_timeout_seconds: float) -> None:
        if not self.stopping:
            process = subprocess.Popen(command, env=os.environ.copy(), process_group=0)
            self.adopt(process, stop_timeout_seconds)

    def watch(self) -> int:
        """Wait for a stop request (0) or a child's exit (its code, at least 1); stop all."""
        code = 0
        while not self.stopping:
            exited = [p for p, _ in self.started if p.poll() is not None]
            if exited:
                code = exited[0].returncode or 1
                break
            time.sleep(0.2)
        self.stop_all()
        return code

    def stop_all(self) -> None:
        for process, timeout_seconds in reversed(self.started):
            stop_process(process, timeout_seconds)


def stop_process(process: subprocess.Popen[bytes], timeout_seconds: float = 20) -> None:
    """SIGTERM, then SIGKILL if it has not exited within `timeout_seconds`; always reaped.

    Then whatever is left of its process group is killed: with the leader gone, nothing
    would stop it any more.
    """
    if process.poll() is None:
        process.send_signal(signal.SIGTERM)
    try:
        process.wait(timeout=timeout_seconds)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()
    end_group(process.pid)


def end_group(group: int) -> None:
    """SIGKILL every process of a group; reap those that were orphaned to this process."""
    try:
        os.killpg(group, signal.SIGKILL)
    except (ProcessLookupError, PermissionError):
        return
    with contextlib.suppress(ChildProcessError):
        while True:
            os.waitpid(-group, 0)


def become_subreaper() -> None:
    """On Linux, descendants orphaned by a child come to this process, which reaps them."""
    if sys.platform != "linux":
        return
    with contextlib.suppress(OSError, AttributeError):
        ctypes.CDLL(None, use_errno=True).prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0)
