"""Flask CLI commands."""

from flask import Flask


def register(app: Flask) -> None:
    """Attach the command groups to the app."""
