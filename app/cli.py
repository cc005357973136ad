"""Flask CLI commands: ``flask demo load``, ``flask users create-admin``, ``flask catalogue import|export``."""

from __future__ import annotations

import sys
from pathlib import Path

import click
from flask import Flask, current_app
from flask.cli import AppGroup

demo_cli = AppGroup("demo", help="Demonstration data (development only).")
users_cli = AppGroup("users", help="Manage user accounts.")
catalogue_cli = AppGroup("catalogue", help="Import and export the programme and partner catalogue.")


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


@catalogue_cli.command("import")
@click.argument("path", type=click.Path(dir_okay=False, allow_dash=True))
def catalogue_import(path: str) -> None:
    """Create or update the programmes and partners in PATH (dxportal.catalogue/1 JSON; "-" reads stdin).

    The whole file is checked first: on any problem every one is printed with its JSON path, nothing is
    changed, and the command exits with status 1.
    """
    from flask_babel import force_locale

    from app.extensions import db
    from app.services import catalogue_io

    try:
        with click.open_file(path, "rb") as stream:
            raw = stream.read()
    except OSError as error:
        raise click.ClickException(f"Cannot read {path}: {error.strerror}") from error
    with force_locale("en"):
        try:
            report = catalogue_io.import_bytes(raw, source=Path(path).name if path != "-" else "stdin")
        except catalogue_io.CatalogueError as error:
            db.session.rollback()
            for problem in error.problems:
                click.echo(str(problem), err=True)
            click.echo(f"{len(error.problems)} problem(s) found in {path}; nothing was imported.", err=True)
            sys.exit(1)
        db.session.commit()
    click.echo(f"Catalogue imported from {path}:")
    for section, counts in report.counts().items():
        summary = ", ".join(f"{counts[outcome]} {outcome}" for outcome in catalogue_io.OUTCOMES)
        click.echo(f"  {section + ':':<12} {summary}")
    for item in report.changed:
        fields = f" ({', '.join(item.fields)})" if item.outcome != catalogue_io.CREATED else ""
        click.echo(f"  {item.outcome} {item.section[:-1]} {item.code}{fields}")


@catalogue_cli.command("export")
@click.argument("path", type=click.Path(dir_okay=False, allow_dash=True, writable=True))
def catalogue_export(path: str) -> None:
    """Write every programme and partner that is not retired to PATH ("-" writes to stdout)."""
    from app.services import catalogue_io

    document = catalogue_io.export_document()
    text = catalogue_io.dumps(document)
    if path == "-":
        with click.open_file("-", "wb") as stream:
            stream.write(text.encode("utf-8"))
        return
    target = Path(path)
    # Written next to the target and renamed, so a reader never sees half a file.
    partial = target.with_name(f".{target.name}.partial")
    try:
        partial.write_text(text, encoding="utf-8")
        partial.replace(target)
    except OSError as error:
        partial.unlink(missing_ok=True)
        raise click.ClickException(f"Cannot write {path}: {error.strerror}") from error
    click.echo(f"Exported {len(document['programmes'])} programmes and {len(document['partners'])} partners "
               f"to {path}.")


recommender_cli = AppGroup("recommender", help="Train and evaluate the recommender.")


@recommender_cli.command("train")
@click.option("--seed", default=0, show_default=True, help="Seed for sampling and fitting.")
def recommender_train(seed: int) -> None:
    """Learn from the outcomes into a new signed model file under instance/models/ (newest valid file is used)."""
    from app.recommender import training

    try:
        result = training.train(seed=seed)
    except training.TrainingError as error:
        raise click.ClickException(f"Not trained: {error}. The content model stays in use.") from error
    metrics = result.metadata["metrics"]
    click.echo(f"Trained {result.version} on {metrics['training_outcomes']} outcomes -> {result.path}")
    for key in sorted(metrics):
        click.echo(f"  {key:<20} {metrics[key]}")


@recommender_cli.command("evaluate")
@click.option("--test-share", default=0.2, show_default=True, type=click.FloatRange(0.05, 0.5),
              help="Most recent share of the outcomes used as the test set.")
@click.option("--seed", default=0, show_default=True)
@click.option("-k", "k", default=5, show_default=True, type=click.IntRange(1, 50))
def recommender_evaluate(test_share: float, seed: int, k: int) -> None:
    """Compare the recommender with popularity and random on a split of the outcomes by time."""
    from app.recommender import evaluation, snapshot, training

    dataset = training.load_dataset()
    if not dataset.records:
        raise click.ClickException("No outcomes to evaluate on (flask demo load generates some).")
    report = evaluation.evaluate(dataset.records, snapshot.current(), test_share=test_share, seed=seed, k=k)
    click.echo(evaluation.format_table(report))


dashboard_cli = AppGroup("dashboard", help="The staff dashboard's figures.")


@dashboard_cli.command("rebuild-facts")
def dashboard_rebuild_facts() -> None:
    """Rebuild the dashboard's fact table (run once after upgrading, so the first view is not slow)."""
    from app.services import dashboard

    dashboard.rebuild_facts()
    click.echo("Dashboard figures rebuilt.")


jobs_cli = AppGroup("jobs", help="Background jobs (RQ on REDIS_URL).")


@jobs_cli.command("worker")
@click.option("--burst", is_flag=True, help="Stop when the queue is empty.")
def jobs_worker(burst: bool) -> None:
    """Run an RQ worker for this app's queue (``make worker``); needs REDIS_URL."""
    if not current_app.config.get("REDIS_URL"):
        raise click.ClickException("Set REDIS_URL to run a worker; without it jobs run inside the web process.")
    from rq import Worker

    from app import jobs

    queue = jobs.queue()
    Worker([queue], connection=queue.connection).work(burst=burst)


def register(app: Flask) -> None:
    """Attach the command groups to the app."""
    app.cli.add_command(demo_cli)
    app.cli.add_command(users_cli)
    app.cli.add_command(catalogue_cli)
    app.cli.add_command(recommender_cli)
    app.cli.add_command(jobs_cli)
    app.cli.add_command(dashboard_cli)
    from app.cli_plans import register as register_plans

    register_plans(app)
    from app.cli_opendata import register as register_opendata

    register_opendata(app)
