"""The shipped deploy/nginx.conf, run as a private nginx in front of this run's web processes."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
SHIPPED_UPSTREAMS = re.compile(r"(    server 127\.0\.0\.1:800\d;\n)+")


def nginx_missing() -> str | None:
    """Why nginx cannot run here, or None when it can."""
    return None if shutil.which("nginx") else "nginx is not installed (apt-get install nginx)"


def nginx_proxy_conf(app_ports: list[int], port: int, work: Path) -> Path:
    """The shipped deploy/nginx.conf with this run's web processes, port and cache folder,
    inside a main configuration of its own (no root, no /etc)."""
    shipped = (REPO / "deploy/nginx.conf").read_text()
    servers = "".join(f"    server 127.0.0.1:{app_port};\n" for app_port in app_ports)
    site = (
        SHIPPED_UPSTREAMS.sub(servers, shipped)
        .replace("listen 80;", f"listen 127.0.0.1:{port};")
        .replace("/var/cache/nginx/feedsvc", str(work / "cache"))
    )
    (work / "site.conf").write_text(site)
    conf = work / "proxy.conf"
    user = "user root;" if os.geteuid() == 0 else ""  # workers reach the private folder
    conf.write_text(f"""
{user} worker_processes 1; daemon off; pid {work}/proxy.pid; error_log {work}/proxy-error.log;
events {{ worker_connections 4096; }}
http {{ access_log off; sendfile on; include {work}/site.conf;
  client_body_temp_path {work}/body; proxy_temp_path {work}/proxy;
  fastcgi_temp_path {work}/fastcgi; uwsgi_temp_path {work}/uwsgi; scgi_temp_path {work}/scgi; }}
""")
    return conf


def start_nginx(conf: Path) -> subprocess.Popen[bytes]:
    return subprocess.Popen(["nginx", "-c", str(conf), "-p", str(conf.parent)],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)  # fmt: skip
