"""A policy's subject as a chip: all users, a group or a user (access policies and message policies alike)."""

from __future__ import annotations

import reflex as rx

from gateway_ui.state.policies import SubjectChip


def subject_badge(subject: SubjectChip) -> rx.Component:
    return rx.badge(
        rx.match(
            subject.kind,
            ("everyone", rx.icon("globe", size=12)),
            ("group", rx.icon("users", size=12)),
            rx.icon("user", size=12),
        ),
        rx.text(subject.label, trim="both"),
        variant="soft",
        color_scheme=rx.match(subject.kind, ("everyone", "green"), ("group", "violet"), "gray"),
        max_width="100%",
    )
