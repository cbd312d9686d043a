"""Policies and violations at rest: the store (validated, audited), snapshot entries, the try-it trial, the violation recorder and its queries."""
