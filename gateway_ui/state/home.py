"""Home page state: an admin's setup checklist and today's figures; a user's models, keys and week of usage."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import reflex as rx

from gateway_ui import client_setup, routes
from gateway_ui.api import ApiError, UserApi
from gateway_ui.api.keys import ApiKey
from gateway_ui.api.me import MyModels
from gateway_ui.api.setup import SetupStatus
from gateway_ui.api.usage import BreakdownEntry, UsageSummary
from gateway_ui.state.api_session import UiEvent, failure_event, session_api, short_timestamp
from gateway_ui.state.auth import AuthState
from gateway_ui.state.usage_view import format_count, format_usd, unpriced_note

TOP_MODELS = 5
WEEK = timedelta(days=7)


@dataclass(frozen=True)
class SetupStep:
    key: str
    title: str
    detail: str  # what is there now, or what to do
    done: bool
    href: str
    action: str  # the link's text


def setup_steps(status: SetupStatus) -> list[SetupStep]:
    """The five steps from a fresh install to a first proxied call, each ticked from the gateway's real state."""

    def plural(count: int, noun: str) -> str:
        return f"{count} {noun}{'' if count == 1 else 's'}"

    return [
        SetupStep(
            "provider",
            "Add a provider with its API key",
            f"{plural(status.providers_with_credential, 'provider')} with a credential"
            if status.providers_with_credential
            else "Anthropic or OpenAI, with the key the gateway calls them with.",
            status.providers_with_credential > 0,
            routes.PROVIDERS,
            "Model Providers",
        ),
        SetupStep(
            "models",
            "Activate models",
            f"{plural(status.active_models, 'model')} can be called"
            if status.active_models
            else "Import the provider's models and switch on the ones to offer.",
            status.active_models > 0,
            routes.PROVIDERS,
            "Model Providers",
        ),
        SetupStep(
            "policy",
            "Grant models with a policy",
            f"{plural(status.policies_granting, 'policy')} grant{'s' if status.policies_granting == 1 else ''} "
            "callable models"
            if status.policies_granting
            else "A Model Access Policy says which users or groups may call which models.",
            status.policies_granting > 0,
            routes.POLICIES,
            "Model Access Policies",
        ),
        SetupStep(
            "users",
            "Give a user access",
            f"{plural(status.users_with_access, 'user')} may call models"
            if status.users_with_access
            else "Create users (or name yourself) in a policy that grants callable models.",
            status.users_with_access > 0,
            routes.USERS,
            "Users & Groups",
        ),
        SetupStep(
            "first_call",
            "See the first call",
            f"First call {short_timestamp(status.first_call_at)}"
            if status.first_call_at
            else "Copy a snippet from the Models page and run it.",
            status.first_call_at is not None,
            routes.MODELS,
            "Models",
        ),
    ]


@dataclass(frozen=True)
class ModelFigure:
    label: str
    requests_text: str
    spend_text: str


def model_figures(entries: list[BreakdownEntry]) -> list[ModelFigure]:
    return [ModelFigure(e.label, format_count(e.requests), format_usd(e.cost_usd)) for e in entries[:TOP_MODELS]]


@dataclass(frozen=True)
class ProviderModels:
    label: str
    count: int
    names: str  # the first few, comma separated


def my_model_groups(answer: MyModels) -> list[ProviderModels]:
    groups = []
    for provider in answer["providers"]:
        names = sorted(m["name"] for m in provider["models"])
        shown = ", ".join(names[:4]) + (f" and {len(names) - 4} more" if len(names) > 4 else "")
        groups.append(ProviderModels(client_setup.provider_label(str(provider["kind"])), len(names), shown))
    return groups


@dataclass(frozen=True)
class KeyLine:
    name: str
    prefix: str
    expires: str


def my_keys(keys: list[ApiKey]) -> list[KeyLine]:
    """The user's keys for calling models (browser sessions and automation keys are not among them)."""
    return [
        KeyLine(key.name or "Unnamed key", key.prefix, short_timestamp(key.expires_at, "never"))
        for key in keys
        if "llm" in key.scopes
    ]


class HomeState(rx.State):
    loading: bool = True
    # Admins
    steps: list[SetupStep] = rx.field(default_factory=list)
    steps_done: int = 0
    # Admins: today, everyone's; users: the last seven days, their own.
    requests_text: str = "0"
    failed_text: str = "0"
    has_failures: bool = False
    spend_text: str = "$0.00"
    unpriced_note: str = ""
    top_models: list[ModelFigure] = rx.field(default_factory=list)
    # Users
    model_groups: list[ProviderModels] = rx.field(default_factory=list)
    keys: list[KeyLine] = rx.field(default_factory=list)

    def _show_usage(self, summary: UsageSummary, by_model: list[BreakdownEntry]) -> None:
        self.requests_text = format_count(summary.requests)
        self.failed_text = format_count(summary.failed_requests)
        self.has_failures = summary.failed_requests > 0
        self.spend_text = format_usd(summary.cost_usd)
        self.unpriced_note = unpriced_note(summary.unpriced_models)
        self.top_models = model_figures(by_model)

    async def _load_admin(self, api: UserApi) -> None:
        start = datetime.now(UTC).replace(hour=0, minute=0, second=0, microsecond=0)
        today = {"start": start.isoformat()}
        status, summary, by_model = await asyncio.gather(
            api.setup_status(), api.usage.summary(today), api.usage.breakdown(today, "model")
        )
        self.steps = setup_steps(status)
        self.steps_done = sum(step.done for step in self.steps)
        self._show_usage(summary, by_model)

    async def _load_user(self, api: UserApi) -> None:
        week = {"start": (datetime.now(UTC) - WEEK).isoformat()}
        models, keys, summary, by_model = await asyncio.gather(
            api.my_models(), api.keys.list(), api.usage.summary(week), api.usage.breakdown(week, "model")
        )
        self.model_groups = my_model_groups(models)
        self.keys = my_keys(keys)
        self._show_usage(summary, by_model)

    @rx.event
    async def load(self) -> AsyncIterator[UiEvent]:
        self.loading = True
        yield
        auth = await self.get_state(AuthState)
        api = await session_api(self)
        try:
            if auth.is_admin:
                await self._load_admin(api)
            else:
                await self._load_user(api)
        except ApiError as exc:
            yield failure_event(exc, "Could not load the overview")
        finally:
            self.loading = False
