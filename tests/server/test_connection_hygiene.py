"""Connection hygiene of `gateway serve` (issue 15, point 8), with raw sockets against a real process.

Idle and half-sent connections were never timed out, and at the common 1024 open-file limit 1,100 idle sockets
made `/healthz` fail for everyone.
"""

from __future__ import annotations

import resource
import socket
import time
from pathlib import Path

import httpx
import pytest

from tests.proxy.conftest import SONNET
from tests.support.fakes.upstream import FakeUpstream
from tests.support.served_keys import issue_served_key, served_gateway

TIMEOUT = 0.5  # the head and body timeouts, in the timed test
KEEPALIVE = 2.0  # longer: a slow head after a kept-alive request must still be cut at TIMEOUT
CLOSE_WITHIN = 5.0  # seconds a timed-out connection may take to be closed on a loaded machine
IDLE_SOCKETS = 1100
FILE_LIMIT = 1024


def address(url: str) -> tuple[str, int]:
    host, port = url.removeprefix("http://").split(":")
    return host, int(port)


def seconds_until_closed(sock: socket.socket, drip: bytes = b"", every: float = 0.1) -> float:
    """Seconds until the server closes `sock` (sending `drip` every `every` seconds meanwhile, if given)."""
    started = time.monotonic()
    sock.settimeout(every)
    while time.monotonic() - started < CLOSE_WITHIN:
        try:
            if sock.recv(65536) == b"":
                return time.monotonic() - started
        except TimeoutError:
            pass
        except ConnectionResetError:
            return time.monotonic() - started
        if drip:
            try:
                sock.sendall(drip)
            except (BrokenPipeError, ConnectionResetError):
                return time.monotonic() - started
    raise AssertionError(f"the connection was still open after {CLOSE_WITHIN} s")


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
def test_idle_slow_head_slow_body_and_keep_alive_connections_are_closed(
    database_url: str, fake_upstream: FakeUpstream, tmp_path: Path
) -> None:
    timeouts = {"http_header_timeout": str(TIMEOUT), "http_keepalive_timeout": str(KEEPALIVE)}
    timeouts["http_body_timeout"] = str(TIMEOUT)
    with served_gateway(tmp_path, database_url, fake_upstream, **timeouts) as served:
        key = issue_served_key(database_url)
        target = address(served.url)

        with socket.create_connection(target) as idle:  # connects and never sends a byte
            assert seconds_until_closed(idle) >= TIMEOUT * 0.8

        with socket.create_connection(target) as slow_head:  # a header line every 0.1 s: never complete
            slow_head.sendall(b"GET /healthz HTTP/1.1\r\nHost: gateway\r\n")
            assert seconds_until_closed(slow_head, drip=b"x-slow: 1\r\n") >= TIMEOUT * 0.8

        with socket.create_connection(target) as slow_body:  # an authorised call whose body stops after 10 bytes
            head = (
                f"POST /api/llm-proxy/anthropic/v1/messages HTTP/1.1\r\nHost: gateway\r\nx-api-key: {key}\r\n"
                "content-type: application/json\r\ncontent-length: 1000\r\n\r\n"
            )
            slow_body.sendall(head.encode() + b'{"model":"')
            assert seconds_until_closed(slow_body) >= TIMEOUT * 0.8

        with socket.create_connection(target) as kept_alive:  # one whole request, then silence
            kept_alive.sendall(b"GET /healthz HTTP/1.1\r\nHost: gateway\r\n\r\n")
            kept_alive.settimeout(5)
            assert kept_alive.recv(65536).startswith(b"HTTP/1.1 200")
            assert seconds_until_closed(kept_alive) >= KEEPALIVE * 0.8

        with socket.create_connection(target) as reused:  # a request, then a second head that never completes
            reused.sendall(b"GET /healthz HTTP/1.1\r\nHost: gateway\r\n\r\n")
            reused.settimeout(5)
            assert reused.recv(65536).startswith(b"HTTP/1.1 200")
            reused.sendall(b"GET /healthz HTTP/1.1\r\n")
            assert seconds_until_closed(reused, drip=b"x-slow: 1\r\n") < KEEPALIVE * 0.9

        # A body arriving slowly but steadily, and an upstream slower than every timeout, are not cut.
        body = f'{{"model":"{SONNET}","max_tokens":8,"messages":[]}}'.encode()
        with socket.create_connection(target) as steady:
            head = (
                f"POST /api/llm-proxy/anthropic/v1/messages HTTP/1.1\r\nHost: gateway\r\nx-api-key: {key}\r\n"
                f"content-type: application/json\r\ncontent-length: {len(body)}\r\n\r\n"
            )
            steady.sendall(head.encode())
            for start in range(0, len(body), 8):
                steady.sendall(body[start : start + 8])
                time.sleep(TIMEOUT / 3)
            steady.settimeout(10)
            assert steady.recv(65536).startswith(b"HTTP/1.1 200")
        fake_upstream.configure(headers_delay=TIMEOUT * 3)
        answer = httpx.post(f"{served.anthropic_url}/v1/messages", headers={"x-api-key": key}, content=body, timeout=30)
        assert answer.status_code == 200


def limit_open_files() -> None:
    resource.setrlimit(resource.RLIMIT_NOFILE, (FILE_LIMIT, FILE_LIMIT))


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
def test_health_answers_with_1100_idle_sockets_at_a_1024_file_limit(
    database_url: str, fake_upstream: FakeUpstream, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if hard != resource.RLIM_INFINITY and hard < IDLE_SOCKETS + 200:
        pytest.skip(f"this test opens {IDLE_SOCKETS} sockets; the hard open-file limit is {hard}")
    resource.setrlimit(resource.RLIMIT_NOFILE, (max(soft, IDLE_SOCKETS + 200), hard))
    sockets: list[socket.socket] = []
    try:
        with served_gateway(tmp_path, database_url, fake_upstream, preexec_fn=limit_open_files) as served:
            limits = Path(f"/proc/{served.process.pid}/limits").read_text()
            assert any(line.startswith("Max open files") and f" {FILE_LIMIT} " in line for line in limits.splitlines())
            # The CLI wheel is built in a thread at start; built during the flood it would fail for want of
            # descriptors and free its own, leaving room for a health check by luck.
            wheel_built(tmp_path / "data" / "cli")
            target = address(served.url)
            for _ in range(IDLE_SOCKETS):
                sockets.append(socket.create_connection(target, timeout=10))
            time.sleep(0.5)  # let the server accept them all

            started = time.monotonic()
            health = httpx.get(f"{served.url}/healthz", timeout=10)
            ready = httpx.get(f"{served.url}/readyz", timeout=10)
            answered_in = time.monotonic() - started
            closed = sum(1 for sock in sockets if _closed_by_server(sock))
            alive = served.process.poll() is None
    finally:
        for sock in sockets:
            sock.close()
        resource.setrlimit(resource.RLIMIT_NOFILE, (soft, hard))

    with capsys.disabled():
        print(
            f"\n[sockets] {IDLE_SOCKETS} idle sockets at a {FILE_LIMIT} open-file limit: /healthz and /readyz "
            f"answered {health.status_code}/{ready.status_code} in {answered_in * 1000:.0f} ms; "
            f"{closed} idle sockets closed to make room"
        )
    assert alive
    assert (health.status_code, ready.status_code) == (200, 200)
    assert closed >= IDLE_SOCKETS - FILE_LIMIT  # the newest were kept, the longest-waiting closed


def wheel_built(cli_dir: Path, timeout: float = 120.0) -> None:
    deadline = time.monotonic() + timeout
    while not list(cli_dir.glob("*/*.whl")):  # its final place (a build in progress writes deeper)
        assert time.monotonic() < deadline, "the CLI wheel was not built"
        time.sleep(0.2)


def _closed_by_server(sock: socket.socket) -> bool:
    sock.setblocking(False)
    try:
        return sock.recv(1) == b""
    except BlockingIOError:
        return False
    except ConnectionResetError:
        return True
