"""The image's commands, run outside Docker (no engine here): install, web, HEALTHCHECK, worker."""

from __future__ import annotations

import json
import os
import re
import shutil
import signal
import subprocess
import sys
import time
import urllib.request
from fnmatch import fnmatchcase
from pathlib import Path

import pytest

from feedsvc.config import Settings
from feedsvc.process.envfile import read_env_file
from feedsvc.process.localredis import free_port
from feedsvc.web.render.chrome import disclaimer
from tests.conftest import settings_env
from tests.servers import ArxivReplay, fixture_entries

REPO = Path(__file__).resolve().parents[2]
DOCKERFILE = (REPO / "Dockerfile").read_text()
DOCKERIGNORE = (REPO / ".dockerignore").read_text()


def dockerfile_env() -> dict[str, str]:
    """Every ENV of the Dockerfile's final stage (KEY=value pairs, line continuations)."""
    joined = DOCKERFILE.replace("\\\n", " ")
    env: dict[str, str] = {}
    for line in joined.splitlines():
        if line.startswith("ENV "):
            env.update(pair.split("=", 1) for pair in line[4:].split())
    return env


def exec_form(instruction: str) -> list[str]:
    """The JSON array of the last CMD (or HEALTHCHECK ... CMD) line."""
    joined = DOCKERFILE.replace("\\\n", " ")
    lines = [line for line in joined.splitlines() if line.startswith(instruction)]
    return list(json.loads(lines[-1].split("CMD", 1)[1]))


def compose_service(service: str) -> str:
    """One service of compose.yaml: its lines up to the next service (no YAML parser here)."""
    lines = (REPO / "compose.yaml").read_text().split(f"\n  {service}:\n", 1)[1].splitlines()
    own = []
    for line in lines:
        if re.match(r"^ {0,2}\S", line):
            break
        own.append(line)
    return "\n".join(own)


def compose_command(service: str) -> list[str]:
    """The `command:` of one service in compose.yaml."""
    match = re.search(r"command: (\[.*\])", compose_service(service))
    assert match is not None, f"no command for {service}"
    return list(json.loads(match.group(1)))


def dockerignored(path: str) -> bool:
    """Whether .dockerignore leaves `path` (relative, with /) out of the build context."""
    patterns = [line.strip().strip("/") for line in DOCKERIGNORE.splitlines()]
    patterns = [p for p in patterns if p and not p.startswith("#")]
    assert not any(p.startswith("!") for p in patterns), "exceptions are not read here"
    parts = path.split("/")
    return any(
        _matches(parts[:depth], pattern.split("/"))
        for pattern in patterns
        for depth in range(1, len(parts) + 1)  # a folder left out leaves out what it holds
    )


def _matches(parts: list[str], pattern: list[str]) -> bool:
    if not pattern:
        return not parts
    if pattern[0] == "**":
        return any(_matches(parts[skip:], pattern[1:]) for skip in range(len(parts) + 1))
    return bool(parts) and fnmatchcase(parts[0], pattern[0]) and _matches(parts[1:], pattern[1:])


def copy_build_context(target: Path) -> Path:
    """What `docker build .` sends: the project without what .dockerignore leaves out."""
    for folder, folders, files in os.walk(REPO):
        here = Path(folder).relative_to(REPO)
        folders[:] = [name for name in folders if not dockerignored((here / name).as_posix())]
        for name in files:
            if not dockerignored((here / name).as_posix()):
                (target / here).mkdir(parents=True, exist_ok=True)
                shutil.copy2(Path(folder) / name, target / here / name)
    return target


@pytest.fixture(scope="module")
def installed(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """`pip install .` as the Dockerfile runs it in the build context (dependencies come from
    the test venv)."""
    target = tmp_path_factory.mktemp("image")
    context = copy_build_context(tmp_path_factory.mktemp("context"))
    subprocess.run(
        [sys.executable, "-m", "pip", "install", "--quiet", "--no-deps", "--target",
         str(target / "site"), str(context)],
        check=True, capture_output=True,
    )  # fmt: skip
    shutil.copy(REPO / "topics.toml", target / "topics.toml")  # COPY topics.toml ./
    return target


def image_env(installed: Path, settings: Settings, port: int) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("FEEDSVC_", "OPENAI_"))}
    for name, value in dockerfile_env().items():
        env[name] = value.replace("/app/", f"{installed}/").replace(":8000", f":{port}")
    test_env = settings_env(settings)
    test_env.pop("FEEDSVC_TOPICS_FILE")  # the image's own topics file
    env.update(test_env, PYTHONPATH=str(installed / "site"), FEEDSVC_WEB_WORKERS="1")
    for name in ("OPENAI_BASE_URL", "OPENAI_API_KEY"):
        env.pop(name, None)
    return env


def command_path(installed: Path, command: list[str]) -> list[str]:
    return [str(installed / "site" / "bin" / command[0]), *command[1:]]


def wait_until_healthy(url: str, process: subprocess.Popen[bytes]) -> None:
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        assert process.poll() is None, "the web command exited"
        try:
            with urllib.request.urlopen(url, timeout=2) as response:
                if response.status == 200:
                    return
        except OSError:
            time.sleep(0.2)
    raise AssertionError(f"{url} never answered")


def test_the_image_installs_its_templates_and_static_files(installed: Path) -> None:
    package = installed / "site" / "feedsvc" / "web"
    assert (package / "templates" / "index.html").exists()
    assert (package / "static" / "icon.svg").exists()
    assert (package / "translations" / "zh_TW" / "LC_MESSAGES" / "messages.po").exists()
    assert {"feedsvc-web", "feedsvc-worker"} <= {p.name for p in (installed / "site/bin").iterdir()}
    assert re.search(r"^USER \d+:\d+$", DOCKERFILE, re.MULTILINE), "a numeric non-root user"
    assert exec_form("CMD") == ["feedsvc-web"]


def test_the_image_commands_serve_and_pass_the_healthcheck(
    installed: Path, settings: Settings, arxiv_replay: ArxivReplay
) -> None:
    arxiv_replay.listing = fixture_entries("arxivpy-golden__q_testing_s0_m10_bc5a6c384fe9.xml")
    port = free_port()
    env = image_env(installed, settings, port)
    web = subprocess.Popen(command_path(installed, exec_form("CMD")), env=env, cwd=installed,
                           stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                           start_new_session=True)  # fmt: skip
    try:
        wait_until_healthy(f"http://127.0.0.1:{port}/healthz", web)
        healthcheck = [c.replace(":8000", f":{port}") for c in exec_form("HEALTHCHECK")]
        healthcheck[0] = sys.executable if healthcheck[0] == "python" else healthcheck[0]
        assert subprocess.run(healthcheck, env=env, check=False).returncode == 0
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/", timeout=5) as index:
            assert "Retrieval-augmented generation" in index.read().decode()
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/?lang=zh", timeout=5) as index:
            chinese = index.read().decode()
        assert "检索增强生成" in chinese and disclaimer("zh") in chinese, "the catalogues ship"
        worker_command = command_path(installed, compose_command("worker"))
        with subprocess.Popen(worker_command, env=env, cwd=installed, stdout=subprocess.PIPE,
                              stderr=subprocess.STDOUT, text=True) as worker:  # fmt: skip
            assert worker.stdout is not None
            deadline = time.monotonic() + 30
            while "topics, fetched " not in (line := worker.stdout.readline()):
                assert time.monotonic() < deadline and line, "the worker did not start"
            worker.send_signal(signal.SIGTERM)
            assert worker.wait(timeout=30) == 0
    finally:
        os.killpg(web.pid, signal.SIGTERM)
        web.wait(timeout=30)


def test_the_build_context_holds_what_the_image_copies_and_no_more() -> None:
    copied = re.findall(r"^COPY (.+) \S+$", DOCKERFILE, re.MULTILINE)
    sources = [source for line in copied for source in line.split()]
    assert {"pyproject.toml", "README.md", "feedsvc", "worker", "topics.toml"} <= set(sources)
    assert not [source for source in sources if dockerignored(source)]
    assert not dockerignored("feedsvc/web/templates/index.html")
    left_out = [
        ".env", ".git/HEAD", ".venv/bin/python", ".feedsvc/redis/appendonly.aof",
        "tests/conftest.py", "feedsvc/web/__pycache__/app.cpython-312.pyc",
        "feedsvc.egg-info/PKG-INFO", ".mypy_cache/3.11/x.json", "build/lib/x.py",
    ]  # fmt: skip
    assert [path for path in left_out if not dockerignored(path)] == []


def test_compose_gives_the_worker_no_web_healthcheck_and_time_to_stop() -> None:
    worker = compose_service("worker")
    assert re.search(r"^    healthcheck:\n      disable: true$", worker, re.MULTILINE), (
        "the worker inherits the image's web HEALTHCHECK"
    )
    assert "healthcheck" not in compose_service("web"), "the web keeps the image's"
    grace = re.search(r"^    stop_grace_period: (\d+)s$", worker, re.MULTILINE)
    assert grace is not None, "Docker's default 10 s cuts the worker's shutdown"
    settings = Settings.from_env(read_env_file(REPO / ".env.example"))
    assert int(grace[1]) > settings.shutdown_seconds
