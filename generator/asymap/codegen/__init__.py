"""Jinja2 environment and the per-board project writer."""
