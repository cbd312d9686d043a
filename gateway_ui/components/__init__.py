"""Reusable UI building blocks (layout, tables, cards)."""
