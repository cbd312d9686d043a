"""Copy-to-clipboard widgets: an icon button, and a code block with one. The clipboard gets exactly `text`."""

from __future__ import annotations

import reflex as rx


def copy_button(text: str | rx.Var[str], label: str | rx.Var[str], test_id: str | rx.Var[str] = "") -> rx.Component:
    """An icon button that puts `text` (nothing more, nothing less) on the clipboard and says so in a toast.

    Runs in the browser only: no server round trip, so the copy happens inside the click's user gesture.
    """
    return rx.tooltip(
        rx.icon_button(
            rx.icon("copy", size=14),
            on_click=[rx.set_clipboard(text), rx.toast.success("Copied to the clipboard", duration=2000)],
            variant="ghost",
            color_scheme="gray",
            size="1",
            aria_label=label,
            type="button",
            data_testid=test_id,
        ),
        content="Copy",
    )


def copyable_code(
    text: str | rx.Var[str], label: str, test_id: str, parts: rx.Var[list[str]] | None = None
) -> rx.Component:
    """A preformatted snippet with a copy button in its corner; the button copies exactly `text`.

    `parts` is the same text cut where a line may wrap (client_setup.wrap_points): a narrow screen then breaks
    a long URL or JSON body after a / or a comma, not in the middle of a word. Only a piece wider than the whole
    block still breaks anywhere rather than overflow it.
    """
    shown = text if parts is None else rx.foreach(parts, lambda part: rx.fragment(part, rx.el.wbr()))
    return rx.box(
        rx.el.pre(
            shown,
            white_space="pre-wrap",
            overflow_wrap="anywhere",
            font_family="var(--code-font-family)",
            font_size="var(--font-size-1)",
            line_height="1.6",
            margin="0",
            padding="0.75rem 2.25rem 0.75rem 0.6rem",
            data_testid=f"{test_id}-text",
        ),
        rx.box(copy_button(text, label, f"{test_id}-copy"), position="absolute", top="0.5rem", right="0.5rem"),
        position="relative",
        width="100%",
        background="var(--gray-a3)",
        border="1px solid var(--gray-a5)",
        border_radius="var(--radius-3)",
    )
