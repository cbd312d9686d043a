"""Slow SSE provider for the "1,000 concurrent slow streams" case: each stream is held ~hold seconds.

Run as `python -m bench.slow_upstream --port P`. Events are sent in five bursts (start, three spaced bursts,
end) rather than one write per event, so 1,000 streams cost this server little CPU: the subject is the limit.
"""

import argparse
import asyncio

import uvloop
from aiohttp import web

from bench import canned

BURSTS = 5


def _bursts(provider: str) -> list[bytes]:
    chunks = canned.sse_event_chunks(provider)
    size = -(-len(chunks) // BURSTS)
    return ["".join(chunks[i : i + size]).encode() for i in range(0, len(chunks), size)]


def build_app(hold_seconds: float) -> web.Application:
    bursts = {provider: _bursts(provider) for provider in ("anthropic", "openai")}

    async def stream(request: web.Request) -> web.StreamResponse:
        await request.read()
        provider = "openai" if request.path.endswith("/responses") else "anthropic"
        parts = bursts[provider]
        response = web.StreamResponse(headers={"Content-Type": "text/event-stream", "request-id": "req_bench_slow"})
        await response.prepare(request)
        pause = hold_seconds / max(1, len(parts) - 1)
        for index, part in enumerate(parts):
            if index:
                await asyncio.sleep(pause)
            await response.write(part)
        await response.write_eof()
        return response

    app = web.Application(client_max_size=16 * 1024 * 1024)
    app.router.add_route("POST", "/{tail:.*}", stream)
    return app


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--hold-seconds", type=float, default=2.0)
    args = parser.parse_args()
    uvloop.install()
    web.run_app(
        build_app(args.hold_seconds), host="127.0.0.1", port=args.port, backlog=4096, access_log=None, print=None
    )


if __name__ == "__main__":
    main()
