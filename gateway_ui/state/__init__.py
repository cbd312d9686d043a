"""Reflex state classes; each page's own state lives beside the page in gateway_ui/pages/."""
