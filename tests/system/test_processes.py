"""The commands as a user runs them: real processes, real signals, real HTTP."""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

from feedsvc.config import Settings
from feedsvc.process.localredis import answers, free_port
from tests.conftest import settings_env
from tests.servers import ArxivReplay, fixture_entries

LISTING = "arxivpy-golden__q_testing_s0_m10_bc5a6c384fe9.xml"


def environment(settings: Settings, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("FEEDSVC_", "OPENAI_"))}
    env.update(settings_env(settings), PYTHONUNBUFFERED="1", **extra)
    return env


def run_quietly(command: list[str], env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(command, env=env, capture_output=True, text=True, check=False)


def test_a_bad_setting_stops_the_worker_with_one_line(settings: Settings) -> None:
    env = environment(settings, FEEDSVC_FETCH_INTERVAL_SECONDS="hourly")
    done = run_quietly([sys.executable, "-m", "worker", "once"], env)
    assert done.returncode == 2
    assert done.stderr.strip().splitlines() == [
        "feedsvc-worker: FEEDSVC_FETCH_INTERVAL_SECONDS='hourly' is not a number"
    ]


def test_a_bad_topics_file_stops_the_web_app_with_one_line(
    settings: Settings, tmp_path: Path
) -> None:
    bad = tmp_path / "bad.toml"
    bad.write_text('[topics.x]\ntitle = "X"\n', encoding="utf-8")
    env = environment(settings, FEEDSVC_TOPICS_FILE=str(bad))
    code = "from feedsvc.app import create_app; create_app()"
    done = run_quietly([sys.executable, "-c", code], env)
    assert done.returncode == 2
    expected = f"feedsvc: {bad}: topic 'x': field 'query': required, a non-empty string"
    assert done.stderr.strip() == expected


def session_members(session: int) -> set[int]:
    """Every live process of a session (zombies aside): what its leader started, however deep."""
    members = set()
    for entry in Path("/proc").iterdir():
        try:
            stat = (entry / "stat").read_text() if entry.name.isdigit() else ""
        except OSError:
            continue
        fields = stat.rsplit(")", 1)[-1].split()
        if len(fields) > 3 and fields[0] != "Z" and int(fields[3]) == session:
            members.add(int(entry.name))
    return members


def kill_session(session: int) -> None:
    for pid in session_members(session):
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGKILL)


def wait_for_line(process: subprocess.Popen[str], needle: str, seconds: float = 20) -> str:
    assert process.stdout is not None
    deadline = time.monotonic() + seconds
    seen = []
    while time.monotonic() < deadline:
        line = process.stdout.readline()
        seen.append(line)
        if needle in line:
            return "".join(seen)
    raise AssertionError(f"{needle!r} not printed; got:\n{''.join(seen)}")


def test_sigterm_stops_the_running_worker_cleanly(
    settings: Settings, arxiv_replay: ArxivReplay
) -> None:
    arxiv_replay.listing = fixture_entries(LISTING)
    with subprocess.Popen(
        [sys.executable, "-m", "worker", "run"],
        env=environment(settings),
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    ) as worker:
        try:
            wait_for_line(worker, "enriched method=llm")
            worker.send_signal(signal.SIGTERM)
            assert worker.wait(timeout=15) == 0
            assert worker.stdout is not None
            assert "stopped" in worker.stdout.read()
        finally:
            worker.kill()


def get(url: str) -> tuple[int, str]:
    try:
        with urllib.request.urlopen(url, timeout=5) as response:
            return response.status, response.read().decode()
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read().decode()


def poll(url: str, needle: str, count: int = 1, seconds: float = 30) -> str:
    """The body of `url` once it answers 200 with `needle` at least `count` times."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        try:
            status, body = get(url)
            if status == 200 and body.count(needle) >= count:
                return body
        except OSError:
            pass
        time.sleep(0.2)
    raise AssertionError(f"{url} never showed {needle!r}")


def test_feedsvc_up_starts_redis_worker_and_web(
    settings: Settings, arxiv_replay: ArxivReplay, tmp_path: Path
) -> None:
    arxiv_replay.listing = fixture_entries(LISTING)
    redis_port, web_port = free_port(), free_port()
    env = environment(
        settings,
        REDIS_URL=f"redis://127.0.0.1:{redis_port}/0",
        FEEDSVC_BIND=f"127.0.0.1:{web_port}",
        FEEDSVC_WEB_WORKERS="1",
    )
    for name in ("OPENAI_BASE_URL", "OPENAI_API_KEY"):
        env.pop(name)
    log = (tmp_path / "up.log").open("w")
    up = subprocess.Popen(
        [sys.executable, "-m", "feedsvc.process.launcher"],
        env=env,
        cwd=tmp_path,
        stdout=log,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    try:
        base = f"http://127.0.0.1:{web_port}"
        index = poll(base + "/", "10 papers")
        assert "Software testing" in index
        feed = poll(base + "/feeds/testing.en.atom", "Offline extractive summary", count=10)
        assert feed.count("<entry>") == 10
        assert (tmp_path / ".feedsvc" / "redis").is_dir()
        up.send_signal(signal.SIGTERM)
        assert up.wait(timeout=30) == 0
        assert not answers(f"redis://127.0.0.1:{redis_port}/0")
        written = (tmp_path / "up.log").read_text()
        assert '"GET /feeds/testing.en.atom HTTP/1.1" 200 ' in written, "the access log"
    finally:
        kill_session(up.pid)  # redis, worker, granian: each in a group of its own
        up.wait()
        log.close()
        print((tmp_path / "up.log").read_text())


def test_gunicorn_still_serves_the_app_factory(settings: Settings, tmp_path: Path) -> None:
    port = free_port()
    command = [sys.executable, "-m", "gunicorn", "--bind", f"127.0.0.1:{port}", "--workers", "1",
               "feedsvc.app:create_app()"]  # fmt: skip
    with subprocess.Popen(
        command, env=environment(settings), cwd=tmp_path,
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    ) as web:  # fmt: skip
        try:
            poll(f"http://127.0.0.1:{port}/healthz", "ok")
            status, body = get(f"http://127.0.0.1:{port}/feeds/testing.en.atom")
            assert status == 200 and "<feed" in body
            web.send_signal(signal.SIGTERM)
            assert web.wait(timeout=20) == 0
        finally:
            web.kill()
