"""What the load is sent to: one Target per subject (direct, nginx hop, gateway, peers), with its URLs,
headers and processes (for RSS), plus a readiness probe that checks a real reply came back."""

import urllib.error
import urllib.request
from dataclasses import dataclass, field

from bench import canned
from bench.procs import Managed

PROVIDERS = ("anthropic", "openai")
PROVIDER_PATHS = {"anthropic": "/v1/messages", "openai": "/v1/responses"}


class SubjectUnavailable(Exception):
    """The subject cannot be installed or started here; the run reports why and goes on without it."""


@dataclass
class Target:
    name: str
    urls: dict[str, str]
    headers: dict[str, dict[str, str]]
    processes: list[Managed] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    # Requests this harness itself sent (probes), so usage rows can be compared with every request made.
    probe_requests: int = 0

    def root_pids(self) -> list[int]:
        return [process.pid for process in self.processes]

    def stop(self) -> None:
        for process in reversed(self.processes):
            process.stop()


def provider_headers(provider: str, key: str) -> dict[str, str]:
    """Each provider's own auth header, as its SDKs send it."""
    if provider == "anthropic":
        return {"Content-Type": "application/json", "anthropic-version": canned.ANTHROPIC_VERSION, "x-api-key": key}
    return {"Content-Type": "application/json", "Authorization": f"Bearer {key}"}


def plain_target(name: str, port: int, processes: list[Managed]) -> Target:
    """Direct to the fake upstream, or through the nginx hop: same paths, the upstream's own key."""
    return Target(
        name=name,
        urls={provider: f"http://127.0.0.1:{port}{PROVIDER_PATHS[provider]}" for provider in PROVIDERS},
        headers={provider: provider_headers(provider, canned.UPSTREAM_API_KEY) for provider in PROVIDERS},
        processes=processes,
    )


def post_once(url: str, headers: dict[str, str], body: bytes, timeout_seconds: float = 30.0) -> tuple[int, bytes]:
    request = urllib.request.Request(url, data=body, headers=headers, method="POST")
    try:
        with urllib.request.urlopen(request, timeout=timeout_seconds) as response:
            return response.status, response.read()
    except urllib.error.HTTPError as error:
        return error.code, error.read()
    except (urllib.error.URLError, OSError) as error:
        return 0, str(error).encode()


def probe(target: Target, body_kinds: tuple[str, ...] = ("json-1k", "stream-1k")) -> list[str]:
    """One request per provider and body kind; returns the failures (empty when every reply was complete)."""
    failures = []
    for provider in PROVIDERS:
        for body_kind in body_kinds:
            expected = canned.FINAL_EVENT[provider] if "stream" in body_kind else b'"usage"'
            status, body = post_once(
                target.urls[provider], target.headers[provider], canned.request_body(provider, body_kind)
            )
            if status == 200:
                target.probe_requests += 1
            if status != 200 or expected not in body:
                failures.append(f"{provider} {body_kind}: HTTP {status}: {body[:200]!r}")
    return failures
