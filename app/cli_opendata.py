"""``flask opendata publish``: freeze the open-data figures of the quarters that have ended.

Downloads also publish lazily (the first request after a quarter ends), but running this from cron just
after midnight on the first day of a quarter, or after an import, means no visitor waits for it.
"""

from __future__ import annotations

import time

import click
from flask import Flask
from flask.cli import AppGroup

from app.services import opendata

opendata_cli = AppGroup("opendata", help="Open data: publish the quarters that have ended.")


@opendata_cli.command("publish")
def publish_command() -> None:
    """Publish every ended quarter not yet published, then write the download files."""
    started = time.perf_counter()
    written = opendata.publish_missing()
    files = opendata.prepare_files()
    quarters = ", ".join(opendata.quarter_label(q) for q in written) or "none"
    click.echo(f"Quarters published: {quarters}. Files written: {files}. "
               f"({time.perf_counter() - started:.1f} s)")


def register(app: Flask) -> None:
    """Add the ``opendata`` command group to the app."""
    app.cli.add_command(opendata_cli)
