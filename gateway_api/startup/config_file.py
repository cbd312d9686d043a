"""Declarative configuration: a YAML file applied idempotently at start (create or update, never duplicate).

Objects not named in the file are left alone. ``${VAR}`` is read from the environment; a missing variable is an
error, like any other problem, reported as ``FILE: path.inside.file: what is wrong``.
"""

from __future__ import annotations

import os
import re
from pathlib import Path
from typing import Any

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator
from sqlalchemy import Engine
from sqlmodel import Session, col, select

from gateway_api.accounts.access import validate_policy
from gateway_api.accounts.audit_views import model_view, policy_view, provider_view, user_view
from gateway_api.accounts.users import (
    create_user,
    ensure_groups,
    find_user,
    set_active,
    set_password,
    set_user_groups,
)
from gateway_api.core.names import Name, OptionalName, ProviderName
from gateway_api.db.config_version import bump_config_version
from gateway_api.db.engine import session_scope
from gateway_api.db.models import Group, Model, Policy, Provider, ProviderKind, Role, saved_id, utcnow
from gateway_api.providers.credential_binding import credential_bound_here, move_provider, set_credential
from gateway_api.providers.pricing import default_price
from gateway_api.providers.spec import PROVIDERS
from gateway_api.security.crypto import CredentialCipher
from gateway_api.security.passwords import verify_password
from gateway_api.startup.config_audit import record_config_change
from gateway_api.startup.config_message_policies import (
    MessagePolicySpec,
    apply_judge_model,
    apply_message_policies,
    message_policy_problem,
)

_VARIABLE = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)\}")


class ConfigError(Exception):
    """The config file is unusable; the message names the file, the place inside it and the problem."""


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class PriceSpec(_Strict):
    input: float | None = Field(default=None, ge=0)
    output: float | None = Field(default=None, ge=0)
    cache_read: float | None = Field(default=None, ge=0)
    cache_write: float | None = Field(default=None, ge=0)


class ModelSpec(_Strict):
    name: Name
    display_name: str | None = None
    active: bool = True
    price: PriceSpec | None = None


class ProviderSpec(_Strict):
    name: ProviderName
    kind: ProviderKind
    base_url: str | None = None
    api_key: str | None = None
    models: list[ModelSpec] = []

    @field_validator("base_url")
    @classmethod
    def _http_url(cls, value: str | None) -> str | None:
        if value is not None and not value.startswith(("http://", "https://")):
            raise ValueError("must start with http:// or https://")
        return value.rstrip("/") if value else value


class UserSpec(_Strict):
    email: str = Field(min_length=3, max_length=320, pattern=r"^[^@\s]+@[^@\s]+$")
    name: OptionalName = ""
    password: str | None = None
    role: Role = Role.user
    active: bool = True
    groups: list[Name] = []


class PolicySpec(_Strict):
    name: Name
    subjects: list[str]
    models: list[str]


class ConfigSpec(_Strict):
    providers: list[ProviderSpec] = []
    groups: list[Name] = []
    users: list[UserSpec] = []
    policies: list[PolicySpec] = []
    # Absent: the judge model is left as it is; present (a model name, or null for none): set.
    message_policy_judge: str | None = None
    message_policies: list[MessagePolicySpec] = []


def _substitute(value: Any, where: str, path: Path) -> Any:
    if isinstance(value, str):

        def lookup(match: re.Match[str]) -> str:
            name = match.group(1)
            if name not in os.environ:
                raise ConfigError(f"{path}: {where}: environment variable {name} is not set")
            return os.environ[name]

        return _VARIABLE.sub(lookup, value)
    if isinstance(value, list):
        return [_substitute(v, f"{where}[{i}]", path) for i, v in enumerate(value)]
    if isinstance(value, dict):
        return {k: _substitute(v, f"{where}.{k}" if where else str(k), path) for k, v in value.items()}
    return value


def load_config_file(path: Path) -> ConfigSpec:
    try:
        raw = yaml.safe_load(path.read_text())
    except OSError as exc:
        raise ConfigError(f"{path}: cannot read: {exc.strerror}") from None
    except yaml.YAMLError as exc:
        raise ConfigError(f"{path}: not valid YAML: {exc}") from None
    if raw is None:
        raw = {}
    if not isinstance(raw, dict):
        raise ConfigError(f"{path}: the top level must be a mapping with providers, groups, users, policies")
    data = _substitute(raw, "", path)
    try:
        spec = ConfigSpec.model_validate(data)
    except ValidationError as exc:
        error = exc.errors()[0]
        where = "".join(f"[{p}]" if isinstance(p, int) else f".{p}" for p in error["loc"]).lstrip(".")
        raise ConfigError(f"{path}: {where or 'top level'}: {error['msg']}") from None
    _check_consistency(spec, path)
    return spec


def _check_consistency(spec: ConfigSpec, path: Path) -> None:
    seen_models: dict[str, str] = {}
    for i, provider in enumerate(spec.providers):
        for j, model in enumerate(provider.models):
            if model.name in seen_models:
                raise ConfigError(
                    f"{path}: providers[{i}].models[{j}].name: model {model.name!r} is listed twice "
                    f"(also under provider {seen_models[model.name]!r})"
                )
            seen_models[model.name] = provider.name
    for i, policy in enumerate(spec.policies):
        problems = validate_policy(policy.subjects, policy.models)
        if problems:
            field, message = problems[0]
            raise ConfigError(f"{path}: policies[{i}].{field}: {message}")
    problem = message_policy_problem(spec.message_policies)
    if problem is not None:
        raise ConfigError(f"{path}: {problem}")


def apply_config_file(engine: Engine, path: Path, cipher: CredentialCipher) -> None:
    spec = load_config_file(path)
    with session_scope(engine) as session:
        for provider_spec in spec.providers:
            _apply_provider(session, provider_spec, cipher)
        _apply_groups(session, list(dict.fromkeys(spec.groups + [g for u in spec.users for g in u.groups])))
        for user_spec in spec.users:
            _apply_user(session, user_spec)
        for i, policy_spec in enumerate(spec.policies):
            _apply_policy(session, policy_spec, f"{path}: policies[{i}]")
        try:
            apply_message_policies(session, spec.message_policies, path)
            if "message_policy_judge" in spec.model_fields_set:
                apply_judge_model(session, spec.message_policy_judge, path)
        except ValueError as exc:
            raise ConfigError(str(exc)) from None
        bump_config_version(session)


def _apply_groups(session: Session, names: list[str]) -> None:
    existing = set(session.exec(select(Group.name).where(col(Group.name).in_(names))).all()) if names else set()
    for group in ensure_groups(session, names):
        if group.name not in existing:
            record_config_change(session, "group", group.id, None, {"name": group.name})


def _apply_provider(session: Session, spec: ProviderSpec, cipher: CredentialCipher) -> None:
    provider = session.exec(select(Provider).where(Provider.name == spec.name)).first()
    base_url = spec.base_url or PROVIDERS[spec.kind].default_base_url
    provider_before = provider_view(provider) if provider is not None else None
    # A new credential with the same last four characters still is a change worth a line in the trail.
    credential_replaced = False
    if provider is None:
        provider = Provider(name=spec.name, kind=spec.kind, base_url=base_url)
    provider.kind = spec.kind
    # A credential stays with the host it was saved for; the file's api_key (if any) is saved for the new one.
    move_provider(provider, base_url)
    if spec.api_key is not None:
        current = cipher.decrypt(provider.credential_encrypted) if provider.credential_encrypted else None
        if current != spec.api_key or not credential_bound_here(provider):
            set_credential(provider, cipher, spec.api_key)
            credential_replaced = provider_before is not None and current != spec.api_key
    provider.updated_at = utcnow()
    session.add(provider)
    session.flush()
    provider_after = provider_view(provider) | ({"credential_replaced": True} if credential_replaced else {})
    record_config_change(session, "provider", provider.id, provider_before, provider_after)
    for model_spec in spec.models:
        model = session.exec(select(Model).where(Model.name == model_spec.name)).first()
        model_before = model_view(model) if model is not None else None
        if model is None:
            model = Model(name=model_spec.name, provider_id=saved_id(provider))
            shipped = default_price(model_spec.name)
            if shipped is not None:
                model.price_input, model.price_output = shipped.input, shipped.output
                model.price_cache_read, model.price_cache_write = shipped.cache_read, shipped.cache_write
        model.provider_id = saved_id(provider)
        model.display_name = model_spec.display_name or model.display_name or model_spec.name
        model.active = model_spec.active
        if model_spec.price is not None:
            for field in ("input", "output", "cache_read", "cache_write"):
                value = getattr(model_spec.price, field)
                if value is not None:
                    setattr(model, f"price_{field}", value)
        model.updated_at = utcnow()
        session.add(model)
        session.flush()
        record_config_change(session, "model", model.id, model_before, model_view(model))


def _apply_user(session: Session, spec: UserSpec) -> None:
    user = find_user(session, spec.email)
    before = user_view(session, user) if user is not None else None
    password_changed = False
    if user is None:
        user = create_user(session, spec.email, spec.password, role=spec.role, name=spec.name)
    elif spec.password and not verify_password(spec.password, user.password_hash):
        set_password(session, user, spec.password)
        password_changed = True
    user.role = spec.role
    set_active(session, user, spec.active)
    if spec.name:
        user.name = spec.name
    session.add(user)
    if spec.groups:
        set_user_groups(session, user, spec.groups)
    session.flush()
    after = user_view(session, user) | ({"sign_in_changed": True} if password_changed else {})
    record_config_change(session, "user", user.id, before, after)


def _apply_policy(session: Session, spec: PolicySpec, where: str) -> None:
    for subject in spec.subjects:
        kind, _, name = subject.partition(":")
        if kind == "user" and find_user(session, name) is None:
            raise ConfigError(f"{where}.subjects: user {name!r} does not exist")
        if kind == "group" and session.exec(select(Group).where(Group.name == name)).first() is None:
            raise ConfigError(f"{where}.subjects: group {name!r} does not exist (list it under groups)")
    policy = session.exec(select(Policy).where(Policy.name == spec.name)).first()
    before = policy_view(policy) if policy is not None else None
    if policy is None:
        policy = Policy(name=spec.name)
    policy.subjects = list(spec.subjects)
    policy.models = list(spec.models)
    policy.updated_at = utcnow()
    session.add(policy)
    session.flush()
    record_config_change(session, "policy", policy.id, before, policy_view(policy))
