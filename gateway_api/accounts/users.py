"""User and group operations shared by the REST API, the CLI and the declarative config."""

from __future__ import annotations

from collections.abc import Iterable

from sqlmodel import Session, col, select

from gateway_api.accounts.sessions import end_sessions
from gateway_api.db.config_version import bump_config_version
from gateway_api.db.models import Group, Role, User, UserGroup, saved_id, utcnow
from gateway_api.security.passwords import hash_password


def normalise_email(email: str) -> str:
    return email.strip().lower()


def find_user(session: Session, email: str) -> User | None:
    return session.exec(select(User).where(User.email == normalise_email(email))).first()


def resolve_subjects(session: Session, subjects: Iterable[str]) -> tuple[list[str], list[tuple[str, str]]]:
    """Policy subjects (access and message policies) with user emails as stored, and as (field, message) the users
    and groups that do not exist and duplicates that normalising revealed."""
    problems: list[tuple[str, str]] = []
    normalised: list[str] = []
    for subject in subjects:
        kind, _, name = subject.partition(":")
        if kind == "user":
            user = find_user(session, name)
            if user is None:
                problems.append(("subjects", f'user "{name}" does not exist'))
                continue
            subject = f"user:{user.email}"
        elif kind == "group" and session.exec(select(Group.id).where(Group.name == name)).first() is None:
            problems.append(("subjects", f'group "{name}" does not exist'))
        normalised.append(subject)
    if not problems and len(set(normalised)) != len(normalised):
        problems.append(("subjects", "subjects contains duplicates"))
    return normalised, problems


def ensure_groups(session: Session, names: Iterable[str]) -> list[Group]:
    groups = []
    for name in names:
        group = session.exec(select(Group).where(Group.name == name)).first()
        if group is None:
            group = Group(name=name)
            session.add(group)
            session.flush()
        groups.append(group)
    return groups


def set_user_groups(session: Session, user: User, group_names: Iterable[str]) -> None:
    wanted = {saved_id(g) for g in ensure_groups(session, group_names)}
    current = {ug.group_id: ug for ug in session.exec(select(UserGroup).where(UserGroup.user_id == user.id))}
    for group_id, link in current.items():
        if group_id not in wanted:
            session.delete(link)
    for group_id in wanted - current.keys():
        session.add(UserGroup(user_id=saved_id(user), group_id=group_id))
    bump_config_version(session)


def user_group_names(session: Session, user_id: int) -> list[str]:
    rows = session.exec(
        select(Group.name).join(UserGroup, col(UserGroup.group_id) == col(Group.id)).where(UserGroup.user_id == user_id)
    )
    return sorted(rows)


def create_user(session: Session, email: str, password: str | None, role: Role = Role.user, name: str = "") -> User:
    user = User(
        email=normalise_email(email),
        name=name,
        role=role,
        password_hash=hash_password(password) if password else "",
    )
    session.add(user)
    session.flush()
    bump_config_version(session)
    return user


def set_password(session: Session, user: User, password: str) -> int:
    """A new password ends every browser session of the user (whoever knew the old one is signed out); returns
    how many ended."""
    user.password_hash = hash_password(password)
    user.updated_at = utcnow()
    session.add(user)
    return end_sessions(session, user)


def set_active(session: Session, user: User, active: bool) -> None:
    """Deactivating ends the user's browser sessions for good: reactivating does not bring them back (their other
    keys stop working while deactivated and work again after)."""
    if user.active and not active:
        end_sessions(session, user)
    user.active = active
    user.updated_at = utcnow()
    session.add(user)
