"""Flask CLI commands: ``flask demo load``, ``flask users create-admin``."""

from __future__ import annotations

import click
from flask import Flask, current_app
from flask.cli import AppGroup

demo_cli = AppGroup("demo", help="Demonstration data (development only).")
users_cli = AppGroup("users", help="Manage user accounts.")


@demo_cli.command("load")
@click.option("--if-empty", is_flag=True, help="Do nothing when the database already has users.")
def demo_load(if_empty: bool) -> None:
    """Create demo organisations of every kind and one user per staff role, and print the logins."""
    if not current_app.config["DEMO_COMMANDS_ENABLED"]:
        raise click.ClickException("Demo data is for development only (DXPORTAL_ENV=production).")
    from app.services import demo

    logins = demo.load(if_empty=if_empty)
    if logins is None:
        click.echo("Database already has users; demo data not loaded.")
        return
    click.echo(f"Demo logins (password for all: {demo.DEMO_PASSWORD}):")
    for role, login in logins:
        click.echo(f"  {role:<22} {login}")


@users_cli.command("create-admin")
@click.option("--email", required=True)
@click.option("--name", "full_name", required=True)
@click.password_option()
def create_admin(email: str, full_name: str, password: str) -> None:
    """Create the first administrator of a new installation."""
    from app.services import staff

    try:
        user = staff.create_admin(email=email, full_name=full_name, password=password)
    except ValueError as error:
        raise click.ClickException(str(error)) from error
    click.echo(f"Administrator {user.email} created.")


def register(app: Flask) -> None:
    """Attach the command groups to the app."""
    app.cli.add_command(demo_cli)
    app.cli.add_command(users_cli)
