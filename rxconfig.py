"""Reflex configuration for the gateway UI (served together with the API on one port)."""

from pathlib import Path

import reflex as rx

# `make install` puts bun here: Reflex's own bun download does not work offline.
PROJECT_BUN = Path(__file__).resolve().parent / ".tools" / "node_modules" / ".bin" / "bun"

config = rx.Config(
    app_name="gateway_ui",
    telemetry_enabled=False,
    show_built_with_reflex=False,
    # The sitemap plugin only warns about a missing deploy_url; an admin console needs no sitemap.
    disable_plugins=[rx.plugins.SitemapPlugin],
    plugins=[rx.plugins.RadixThemesPlugin(theme=rx.theme(accent_color="indigo", radius="medium"))],
    **({"bun_path": PROJECT_BUN} if PROJECT_BUN.exists() else {}),
)
