"""bench/serve.py's set-up: the tools, the server processes and their nginx configurations."""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path

from feedsvc.config import Settings

REPO = Path(__file__).resolve().parent.parent
SERVER_CORE, LOAD_CORE = "0", "1"


def ensure_tools() -> None:
    missing = [tool for tool in ("nginx", "wrk", "taskset") if shutil.which(tool) is None]
    if missing:
        print(f"installing {' '.join(missing)} from Debian packages ...", file=sys.stderr)
        packages = [{"taskset": "util-linux"}.get(tool, tool) for tool in missing]
        subprocess.run(["apt-get", "update", "-qq"], check=True)
        subprocess.run(["apt-get", "install", "-y", "-qq", *packages], check=True)


@contextlib.contextmanager
def server(
    command: list[str], port: int, env: dict[str, str], output: Path | None = None,
    cwd: Path | None = None, pinned: bool = True,
) -> Iterator[str]:  # fmt: skip
    """A server process pinned to the server core (unless not `pinned`), until it answers
    /healthz; its stdout and stderr go to `output` (a file, as a container's log driver
    takes them), else away. `python -m` puts `cwd` first on the path: another checkout runs
    its own code there."""
    sink = output.open("wb") if output is not None else subprocess.DEVNULL
    pin = ["taskset", "-c", SERVER_CORE] if pinned else []
    process = subprocess.Popen(
        [*pin, *command], env=env, stdout=sink,
        stderr=subprocess.STDOUT, start_new_session=True, cwd=cwd,
    )  # fmt: skip
    base = f"http://127.0.0.1:{port}"
    try:
        _wait_for(base + "/healthz", process)
        yield base
    finally:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGTERM)
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()
        if output is not None:
            sink.close()  # type: ignore[union-attr]


def _wait_for(url: str, process: subprocess.Popen[bytes]) -> None:
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"server exited with {process.returncode}: {process.args!r}")
        with contextlib.suppress(OSError), urllib.request.urlopen(url, timeout=1) as response:
            if response.status == 200:
                return
        time.sleep(0.1)
    raise RuntimeError(f"{url} did not answer")


def app_env(settings: Settings, port: int) -> dict[str, str]:
    return {
        **os.environ,
        "REDIS_URL": settings.redis_url,
        "FEEDSVC_REDIS_PREFIX": settings.redis_prefix,
        "FEEDSVC_TOPICS_FILE": str(settings.topics_file),
        "FEEDSVC_PUBLIC_URL": f"http://127.0.0.1:{port}",
        "FEEDSVC_LOG_LEVEL": "WARNING",
        "FEEDSVC_BIND": f"127.0.0.1:{port}",
        "FEEDSVC_WEB_WORKERS": "1",
        "FEEDSVC_ACCESS_LOG": "0",
    }


def gunicorn_command() -> list[str]:
    return [sys.executable, "-m", "gunicorn", "--config", str(REPO / "deploy/gunicorn.conf.py"),
            "--workers", "1", "--worker-class", "sync", "--access-logfile", "/dev/null",
            "feedsvc.app:create_app()"]  # fmt: skip


def granian_command() -> list[str]:
    return [sys.executable, "-m", "feedsvc.web.serve"]


def nginx_static_conf(root: Path, port: int, work: Path) -> Path:
    conf = work / "static.conf"
    conf.write_text(f"""
worker_processes 1; daemon off; pid {work}/static.pid; error_log {work}/static-error.log;
events {{ worker_connections 4096; }}
http {{
  access_log off; sendfile on; tcp_nopush on; etag on; gzip_static on;
  types {{ application/atom+xml atom; }}
  server {{ listen 127.0.0.1:{port}; root {root};
    location = /healthz {{ return 200 "ok"; }}
  }}
}}
""")
    return conf


@contextlib.contextmanager
def worktree(ref: str) -> Iterator[Path]:
    """The project at `ref`, checked out beside this one for as long as it is measured."""
    folder = Path(tempfile.mkdtemp(prefix="feedsvc-baseline-"))
    subprocess.run(["git", "worktree", "add", "--detach", str(folder), ref], cwd=REPO,
                   check=True, capture_output=True)  # fmt: skip
    try:
        yield folder
    finally:
        subprocess.run(["git", "worktree", "remove", "--force", str(folder)], cwd=REPO,
                       check=True, capture_output=True)  # fmt: skip
