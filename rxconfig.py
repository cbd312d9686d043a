"""Reflex configuration for the gateway UI (served together with the API on one port)."""

import logging
import os
from pathlib import Path

import reflex as rx


class _Dropped(logging.Filter):
    """Drops one logger's records that start with `prefix`: advice Reflex prints that nobody here can act on."""

    def __init__(self, prefix: str) -> None:
        super().__init__()
        self.prefix = prefix

    def filter(self, record: logging.LogRecord) -> bool:
        return not record.getMessage().startswith(self.prefix)


# Every `reflex` process reads this file first, so the filters are in place before Reflex logs anything.
# - With a system Node.js older than Reflex wants, Reflex runs its build with `bun --bun` (bun's own runtime, from
#   .tools) and warns that Node.js is out of date: Node.js is not used at all, there is nothing to upgrade.
# - `reflex compile` (make install) initialises the project first and ends with "Initialized gateway_ui ... Run `uv
#   run reflex run`": advice for a new Reflex project; `make run` starts this one.
logging.getLogger("reflex.utils.js_runtimes").addFilter(_Dropped("Your version ("))
logging.getLogger("reflex.reflex").addFilter(_Dropped("Initialized gateway_ui"))

# `make install` puts bun here: Reflex's own bun download does not work offline.
PROJECT_BUN = Path(__file__).resolve().parent / ".tools" / "node_modules" / ".bin" / "bun"

# CORS off unless GATEWAY_CORS_ORIGINS lists origins (Reflex's default, "*" with credentials, would let any web page
# drive the gateway from a user's browser). The gateway app validates the setting (no "*") when it loads; the UI's
# websocket accepts its own origin besides these (gateway_ui/origins.py).
CORS_ORIGINS = tuple(
    sorted(o.strip().rstrip("/") for o in os.environ.get("GATEWAY_CORS_ORIGINS", "").split(",") if o.strip())
)

config = rx.Config(
    cors_allowed_origins=CORS_ORIGINS,
    app_name="gateway_ui",
    telemetry_enabled=False,
    show_built_with_reflex=False,
    # The sitemap plugin only warns about a missing deploy_url; an admin console needs no sitemap.
    disable_plugins=[rx.plugins.SitemapPlugin],
    plugins=[rx.plugins.RadixThemesPlugin(theme=rx.theme(accent_color="indigo", radius="medium"))],
    **({"bun_path": PROJECT_BUN} if PROJECT_BUN.exists() else {}),
)
