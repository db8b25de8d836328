"""The access log: a line per request, noted on the hot path, written a batch at a time;
and the request counts, tallied the same way, exact at every scrape."""

from __future__ import annotations

import io
import json
import re
from dataclasses import replace

from feedsvc.app import create_app
from feedsvc.config import Settings
from feedsvc.store import Store
from feedsvc.web.accesslog import AccessLog
from tests.web.test_web import paper, publish

LINE = re.compile(
    r'^127\.0\.0\.1 - - \[\d\d/\w{3}/\d{4}:\d\d:\d\d:\d\d \+0000\] "GET (?P<target>\S+) '
    r'HTTP/1\.1" (?P<status>\d{3}) (?P<length>\d+|-) \d+\.\d\dms$'
)


def logged_app(
    settings: Settings, store: Store, json_lines: bool = False
) -> tuple[object, io.StringIO]:
    out = io.StringIO()
    offline = replace(settings, openai_base_url=None, openai_api_key=None,
                      log_format="json" if json_lines else "text")  # fmt: skip
    app = create_app(offline, store, access_log=True)
    access_log: AccessLog = app.wsgi_app.access_log
    access_log.stream = out
    return app, out


def test_each_request_is_a_line_written_in_a_batch(settings: Settings, store: Store) -> None:
    publish(store, settings, [paper(1), paper(2)])
    app, out = logged_app(settings, store)
    client = app.test_client()
    first = client.get("/feeds/testing.en.atom", environ_base={"REMOTE_ADDR": "127.0.0.1"})
    etag = first.headers["ETag"]
    client.get("/feeds/testing.en.atom", headers={"If-None-Match": etag},
               environ_base={"REMOTE_ADDR": "127.0.0.1"})  # fmt: skip
    client.get("/feeds/nope.atom?page=2", environ_base={"REMOTE_ADDR": "127.0.0.1"})
    assert out.getvalue() == "", "nothing written on the request's own path"
    access_log: AccessLog = app.wsgi_app.access_log  # type: ignore[attr-defined]
    access_log.write_pending()
    lines = out.getvalue().splitlines()
    found = [LINE.match(line) for line in lines]
    assert all(found), lines
    assert [(m["target"], m["status"]) for m in found if m] == [
        ("/feeds/testing.en.atom", "200"), ("/feeds/testing.en.atom", "304"),
        ("/feeds/nope.atom?page=2", "404"),
    ]  # fmt: skip
    assert found[0] is not None and int(found[0]["length"]) == len(first.data)


def test_a_request_cannot_forge_a_line() -> None:
    out = io.StringIO()
    log = AccessLog(out)
    forged = '/x"\n127.0.0.1 - - [fake] "GET / HTTP/1.1" 200 1 1ms\\'
    log.note({"REQUEST_METHOD": "GET", "PATH_INFO": forged, "REMOTE_ADDR": "1.2.3.4\n"},
             "404 NOT FOUND", [], 0.001)  # fmt: skip
    log.write_pending()
    (line,) = out.getvalue().splitlines()
    assert line.startswith("1.2.3.4\\x0a - - [") and '"GET /x\\"\\x0a127.0.0.1' in line
    assert line.endswith('1ms\\\\ -" 404 - 1.00ms')


def test_json_lines_with_the_json_log_format(settings: Settings, store: Store) -> None:
    app, out = logged_app(settings, store, json_lines=True)
    app.test_client().get("/healthz")
    app.wsgi_app.access_log.write_pending()  # type: ignore[attr-defined]
    (line,) = out.getvalue().splitlines()
    record = json.loads(line)
    assert (record["method"], record["path"], record["status"]) == ("GET", "/healthz", "200")


def test_when_output_falls_behind_the_oldest_lines_go_and_it_says_so() -> None:
    out = io.StringIO()
    log = AccessLog(out, max_pending=3)  # a short queue stands for a stdout that blocks
    environ = {"REQUEST_METHOD": "GET", "PATH_INFO": "/healthz", "SERVER_PROTOCOL": "HTTP/1.1"}
    for _ in range(5):
        log.note(environ, "200 OK", [("Content-Length", "2")], 0.001)
    log.write_pending()
    lines = out.getvalue().splitlines()
    assert len(lines) == 4 and lines[-1] == (
        "feedsvc-web: 2 access log lines dropped (stdout is slow)"
    )


def test_the_tally_is_exact_at_every_scrape(settings: Settings, store: Store) -> None:
    app = create_app(replace(settings, openai_base_url=None, openai_api_key=None), store)
    client = app.test_client()
    before = client.get("/metrics").get_data(as_text=True)
    for _ in range(7):
        client.get("/healthz")
    after = client.get("/metrics").get_data(as_text=True)
    assert requests_of(after, "healthz") - requests_of(before, "healthz") == 7


def requests_of(metrics: str, route: str) -> float:
    pattern = rf'feedsvc_http_requests_total{{route="{route}",status="200"}} (\S+)'
    found = re.search(pattern, metrics)
    return float(found[1]) if found else 0.0


class BrokenStdout(io.StringIO):
    """A stdout whose reader went away once."""

    broken = True

    def write(self, text: str) -> int:
        if self.broken:
            self.broken = False
            raise BrokenPipeError("the log reader went away")
        return super().write(text)


def test_lines_a_failed_write_lost_are_counted_and_said() -> None:
    out = BrokenStdout()
    log = AccessLog(out)
    environ = {
        "REQUEST_METHOD": "GET",
        "PATH_INFO": "/a\u2028b\u0085c",
        "SERVER_PROTOCOL": "HTTP/1.1",
    }
    for _ in range(3):
        log.note(environ, "200 OK", [], 0.001)
    log.write_pending()  # the write fails: nothing shown, three lost
    log.note(environ, "200 OK", [], 0.001)
    log.write_pending()
    lines = out.getvalue().splitlines()
    assert len(lines) == 2 and lines[-1].endswith("3 access log lines dropped (stdout is slow)")
    assert '"GET /a\\u2028b\\x85c HTTP/1.1"' in lines[0], "no line separator reaches the log"
