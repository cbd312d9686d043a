"""Where the CPU of pattern message policies goes per call: the proxy's message-policy step in one process, on the
bench's own request bodies and canned replies, with the policies of bench/message_policies_patterns.yaml (the
issue's redact example and a block policy with every built-in set) or another file given.

Per call and case, best of --repeat loops (CPU microseconds of this process):
- parse + serialise: `orjson.loads` and `orjson.dumps` of the body, which the step does for every screened call
  (what is forwarded is the checked document, serialised again);
- request check: `MessagePolicyStep.check_request` whole (parse, text found per scope, patterns, serialise);
- reply guard: a `ToolCallGuard` fed the canned JSON reply or SSE stream whole (the block policy covers
  tool_calls, so every reply that may carry tool calls passes through one).

    PYTHONPATH=$PWD .venv/bin/python bench/pattern_policy_cost.py
"""

from __future__ import annotations

import argparse
import asyncio
import os
import time
from collections.abc import Awaitable, Callable
from functools import partial
from pathlib import Path

import orjson
import yaml

from bench import canned
from bench.judge_latency import build_step
from gateway_api.message_policies.rules import MessagePolicyEntry, PolicyRule, PolicyScope
from gateway_api.message_policies.stored.entries import rule_revision
from gateway_api.message_policies.verdicts import JudgeVerdict
from gateway_api.providers.names import ProviderName
from gateway_api.providers.spec import EndpointKind
from gateway_api.proxy.message_policy_step import MessagePolicyStep
from gateway_api.startup.config_message_policies import MessagePolicySpec

POLICIES_FILE = Path(__file__).resolve().parent / "message_policies_patterns.yaml"
KINDS: dict[ProviderName, EndpointKind] = {"anthropic": EndpointKind.MESSAGES, "openai": EndpointKind.RESPONSES}


class NoJudge:
    """Pattern policies never call the judge; one that did would be a bug this bench should show."""

    async def judge(self, policy: MessagePolicyEntry, scope: PolicyScope, text: str) -> JudgeVerdict:
        raise AssertionError(f"policy {policy.name} was judged: pattern policies only here")


def load_policies(path: Path) -> tuple[MessagePolicyEntry, ...]:
    """The file's `message_policies:` as the catalog holds them (checked by the config file's own model)."""
    document = yaml.safe_load(path.read_text())
    specs = [MessagePolicySpec.model_validate(item) for item in document["message_policies"]]
    entries = []
    for number, spec in enumerate(specs, start=1):
        rule = PolicyRule(pattern=spec.rule.pattern, builtins=tuple(spec.rule.builtins), judge=spec.rule.judge)
        entries.append(
            MessagePolicyEntry(
                id=number,
                name=spec.name,
                subjects=frozenset(spec.subjects),
                scopes=frozenset(spec.scope),
                action=spec.action,
                rule=rule,
                on_unreadable=spec.on_unreadable,
                on_judge_error=spec.on_judge_error,
                revision=rule_revision(rule),
            )
        )
    return tuple(sorted(entries, key=lambda p: (p.name, p.id)))


async def parse_and_serialise(body: bytes) -> bytes:
    return orjson.dumps(orjson.loads(body))


async def guard_once(
    step: MessagePolicyStep,
    policies: tuple[MessagePolicyEntry, ...],
    provider: ProviderName,
    kind: EndpointKind,
    streamed: bool,
    reply: str,
) -> bytes:
    guard = step.reply_guard(policies, provider, kind, streamed)
    if guard is None:
        raise RuntimeError("no policy covers tool_calls: the reply guard is not measured")
    return guard.feed(reply.encode()) + await guard.finish()


async def best_cpu_us(calls: int, repeat: int, one: Callable[[], Awaitable[object]]) -> float:
    best = float("inf")
    for _ in range(repeat):
        started = time.process_time()
        for _ in range(calls):
            await one()
        best = min(best, (time.process_time() - started) / calls * 1e6)
    return best


async def measure(step: MessagePolicyStep, policies: tuple[MessagePolicyEntry, ...], calls: int, repeat: int) -> None:
    print("| provider | body | parse + serialise us | request check us | reply guard, JSON us | reply guard, SSE us |")
    print("|---|---|---:|---:|---:|---:|")
    for provider, kind in KINDS.items():
        for body_kind in ("json-1k", "json-100k"):
            body = canned.request_body(provider, body_kind)
            checked = await step.check_request(policies, provider, kind, body)
            if checked.blocked is not None or checked.violations:
                raise RuntimeError(f"the bench body matched a policy: {checked.blocked or checked.violations}")
            count = calls if body_kind == "json-1k" else max(1, calls // 20)

            parse = await best_cpu_us(count, repeat, partial(parse_and_serialise, body))
            check = await best_cpu_us(count, repeat, partial(step.check_request, policies, provider, kind, body))
            guards = [
                await best_cpu_us(calls, repeat, partial(guard_once, step, policies, provider, kind, streamed, reply))
                for streamed, reply in ((False, canned.json_reply(provider)), (True, canned.sse_text(provider)))
            ]
            print(f"| {provider} | {body_kind} | {parse:.1f} | {check:.1f} | {guards[0]:.1f} | {guards[1]:.1f} |")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--policies", type=Path, default=POLICIES_FILE, help="a YAML file with message_policies:")
    parser.add_argument("--calls", type=int, default=2000, help="calls per loop at 1 KB (a 20th of it at 100 KB)")
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()
    print(f"load average at start: {' '.join(f'{v:.2f}' for v in os.getloadavg())}", flush=True)
    step = build_step(NoJudge())
    asyncio.run(measure(step, load_policies(args.policies), args.calls, args.repeat))
    print(f"load average at end: {' '.join(f'{v:.2f}' for v in os.getloadavg())}")


if __name__ == "__main__":
    main()
