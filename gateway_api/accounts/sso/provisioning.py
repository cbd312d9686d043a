"""What a single sign-on changes in the gateway: the user (created on first sign-in), their SSO-managed groups and
their role, each change audited in the sign-in's transaction."""

from __future__ import annotations

from sqlmodel import Session, col, select

from gateway_api.accounts.audit import record_event
from gateway_api.accounts.sso.errors import SsoError
from gateway_api.accounts.sso.identity import SsoIdentity
from gateway_api.accounts.users import find_user
from gateway_api.core.settings import Settings
from gateway_api.db.config_version import bump_config_version
from gateway_api.db.models import Group, Role, User, UserGroup, saved_id, utcnow


def sign_in_user(session: Session, identity: SsoIdentity, settings: Settings) -> User:
    """The gateway user for `identity`, created or brought in line with the claims. Refuses deactivated users and
    an account bound to another subject of the provider."""
    user = find_user(session, identity.email)
    if user is None:
        user = User(email=identity.email, name=identity.name, oidc_subject=identity.subject)
        session.add(user)
        session.flush()
        record_event(session, user, "user.create", "user", user.id, after={"email": user.email, "source": "sso"})
    elif user.oidc_subject not in (None, identity.subject):
        record_refusal(session, identity, "subject_mismatch")
        raise SsoError("this email address belongs to another identity at the provider; ask an administrator", 403)
    elif not user.active:
        record_refusal(session, identity, "deactivated")
        raise SsoError("your gateway account is deactivated", 403)
    elif user.oidc_subject is None:
        user.oidc_subject = identity.subject
        session.add(user)
        record_event(session, user, "user.update", "user", user.id, after={"linked_to_sso": True})
    sync_groups(session, user, identity.groups)
    sync_role(session, user, identity.groups, settings)
    bump_config_version(session)
    return user


def sync_groups(session: Session, user: User, claimed: tuple[str, ...]) -> None:
    """Membership of SSO-managed groups follows the claim; groups an admin made by hand are not touched."""
    found = session.exec(select(Group).where(col(Group.name).in_(claimed))).all() if claimed else []
    by_name = {group.name: group for group in found}
    wanted: dict[int, str] = {}
    for name in claimed:
        group = by_name.get(name)
        if group is None:
            group = Group(name=name, synced_from_sso=True)
            session.add(group)
            session.flush()
            record_event(session, user, "group.create", "group", group.id, after={"name": name, "source": "sso"})
        if group.synced_from_sso:
            wanted[saved_id(group)] = name
    current = session.exec(
        select(Group)
        .join(UserGroup, col(UserGroup.group_id) == col(Group.id))
        .where(UserGroup.user_id == user.id, col(Group.synced_from_sso).is_(True))
    ).all()
    for group in current:
        if saved_id(group) not in wanted:
            link = session.get(UserGroup, (saved_id(user), saved_id(group)))
            if link is not None:
                session.delete(link)
            record_event(session, user, "group.leave", "group", group.id, before={"name": group.name, "source": "sso"})
    joined = wanted.keys() - {saved_id(group) for group in current}
    for group_id in sorted(joined):
        session.add(UserGroup(user_id=saved_id(user), group_id=group_id))
        record_event(session, user, "group.join", "group", group_id, after={"name": wanted[group_id], "source": "sso"})


def sync_role(session: Session, user: User, claimed: tuple[str, ...], settings: Settings) -> None:
    """With GATEWAY_OIDC_ADMIN_GROUPS set, the claim decides who is admin (the break-glass admin stays one)."""
    admin_groups = settings.oidc_admin_group_names
    if not admin_groups:
        return
    is_break_glass = bool(settings.break_glass_admin) and user.email == settings.break_glass_admin.strip().lower()
    # The claim decides admin or not; an auditor (made by an admin) stays one unless the claim makes them admin.
    not_admin = Role.auditor if user.role == Role.auditor else Role.user
    role = (
        Role.admin if admin_groups.intersection(claimed) or (is_break_glass and user.role == Role.admin) else not_admin
    )
    if role != user.role:
        before = user.role.value
        user.role = role
        user.updated_at = utcnow()
        session.add(user)
        record_event(
            session,
            user,
            "user.update",
            "user",
            user.id,
            before={"role": before},
            after={"role": role.value, "source": "sso"},
        )


def record_refusal(session: Session, identity: SsoIdentity, reason: str) -> None:
    """Audit a refused sign-in; the actor is who the provider said it was (they may have no gateway user)."""
    actor = User(email=identity.email)
    record_event(session, actor, "session.refuse", "session", "", after={"reason": reason, "method": "sso"})
