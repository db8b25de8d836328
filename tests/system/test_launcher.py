"""feedsvc-up as a user runs it: Ctrl-C, a port already taken, a .env file."""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from feedsvc.config import Settings
from feedsvc.process.children import Children
from feedsvc.process.localredis import answers, free_port
from tests.system.test_processes import environment, kill_session, poll, session_members

LEAVES_A_GRANDCHILD = """
import subprocess, sys, time
sleeper = subprocess.Popen(["sleep", "600"])
open(sys.argv[1], "w").write(str(sleeper.pid))
time.sleep(600)
"""


def listening(port: int) -> bool:
    with socket.socket() as probe:
        return probe.connect_ex(("127.0.0.1", port)) == 0


def alive(pid: int) -> bool:
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0] != "Z"
    except OSError:
        return False


@contextlib.contextmanager
def taken_port() -> Iterator[int]:
    """A port something listens on, with SO_REUSEPORT as granian binds it."""
    with socket.socket() as listener:
        listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
        listener.bind(("127.0.0.1", 0))
        listener.listen()
        yield listener.getsockname()[1]


@contextlib.contextmanager
def launched(
    env: dict[str, str], cwd: Path, module: str = "feedsvc.process.launcher"
) -> Iterator[subprocess.Popen[bytes]]:
    """feedsvc-up (or `module`) in a session of its own, as a terminal starts it; then killed."""
    log_path = cwd / "up.log"
    with log_path.open("wb") as log:
        up = subprocess.Popen(
            [sys.executable, "-m", module],
            env=env, cwd=cwd, stdout=log, stderr=subprocess.STDOUT, start_new_session=True,
        )  # fmt: skip
        try:
            yield up
        finally:
            kill_session(up.pid)
            up.wait()
            print(log_path.read_text())


def test_ctrl_c_stops_every_child_and_grandchild(settings: Settings, tmp_path: Path) -> None:
    redis_port, web_port = free_port(), free_port()
    env = environment(
        settings,
        REDIS_URL=f"redis://127.0.0.1:{redis_port}/0",
        FEEDSVC_BIND=f"127.0.0.1:{web_port}",
        FEEDSVC_WEB_WORKERS="2",
    )
    with launched(env, tmp_path) as up:
        poll(f"http://127.0.0.1:{web_port}/healthz", "ok")
        # up, redis-server, the worker, granian's main process and its two workers
        assert len(session_members(up.pid)) >= 6
        os.killpg(up.pid, signal.SIGINT)  # Ctrl-C: the terminal signals the whole group
        assert up.wait(timeout=60) == 0
        assert session_members(up.pid) == set()
        assert not listening(web_port)
        assert not answers(f"redis://127.0.0.1:{redis_port}/0")


def test_stopping_a_child_ends_what_it_started_too(tmp_path: Path) -> None:
    pid_file = tmp_path / "grandchild"
    children = Children()
    children.spawn([sys.executable, "-c", LEAVES_A_GRANDCHILD, str(pid_file)], 5)
    deadline = time.monotonic() + 10
    while not pid_file.exists() or not pid_file.read_text():
        assert time.monotonic() < deadline, "the child did not start its own child"
        time.sleep(0.05)
    grandchild = int(pid_file.read_text())
    try:
        children.stop_all()
        deadline = time.monotonic() + 5  # SIGKILL is sent; let the kernel finish it
        while alive(grandchild) and time.monotonic() < deadline:
            time.sleep(0.05)
        assert not alive(grandchild)
    finally:
        with contextlib.suppress(ProcessLookupError):
            os.kill(grandchild, signal.SIGKILL)


@pytest.mark.parametrize(
    ("module", "name"),
    [("feedsvc.process.launcher", "feedsvc-up"), ("feedsvc.web.serve", "feedsvc-web")],
)
def test_a_port_in_use_is_refused_before_anything_starts(
    settings: Settings, tmp_path: Path, module: str, name: str
) -> None:
    redis_port = free_port()
    with taken_port() as port:
        env = environment(
            settings, REDIS_URL=f"redis://127.0.0.1:{redis_port}/0",
            FEEDSVC_BIND=f"127.0.0.1:{port}", FEEDSVC_WEB_WORKERS="1",
        )  # fmt: skip
        with launched(env, tmp_path, module) as process:
            assert process.wait(timeout=30) == 2
            assert session_members(process.pid) == set()
    assert (tmp_path / "up.log").read_text().splitlines() == [
        f"{name}: port {port} on 127.0.0.1 is already in use: stop what listens there "
        "or set FEEDSVC_BIND to a free port"
    ]
    assert not (tmp_path / ".feedsvc").exists(), "no private Redis was started"


def wait_for_text(path: Path, needle: str, seconds: float = 30) -> str:
    deadline = time.monotonic() + seconds
    while needle not in (text := path.read_text()):
        assert time.monotonic() < deadline, f"{needle!r} not in {path}:\n{text}"
        time.sleep(0.2)
    return text


def test_feedsvc_up_reads_dot_env_and_links_to_where_it_listens(
    settings: Settings, tmp_path: Path
) -> None:
    redis_port, web_port = free_port(), free_port()
    env = environment(settings, REDIS_URL=f"redis://127.0.0.1:{redis_port}/0")
    env.pop("FEEDSVC_PUBLIC_URL")
    env["FEEDSVC_WEB_WORKERS"] = "1"  # wins over the file's bad value
    (tmp_path / ".env").write_text(
        f"# only compose read this file\nFEEDSVC_BIND=127.0.0.1:{web_port}\n"
        "FEEDSVC_LOG_FORMAT=json\nFEEDSVC_WEB_WORKERS=many\n",
        encoding="utf-8",
    )
    with launched(env, tmp_path) as up:
        opml = poll(f"http://127.0.0.1:{web_port}/opml", f"http://localhost:{web_port}/feeds/")
        assert "http://feeds.test" not in opml
        log = wait_for_text(tmp_path / "up.log", '"logger": "worker"')  # json, from .env
        assert "feedsvc-up: from .env: FEEDSVC_BIND, FEEDSVC_LOG_FORMAT\n" in log
        assert f"feedsvc-up: serving on http://localhost:{web_port}/ (Ctrl-C stops)\n" in log
        up.send_signal(signal.SIGTERM)
        assert up.wait(timeout=60) == 0
