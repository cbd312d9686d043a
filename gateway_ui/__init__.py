"""Reflex admin and user console for the LLM gateway; a thin client of the gateway REST API."""
