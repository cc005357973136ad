"""``flask plans render ASSESSMENT_ID --out FILE``: the printed action plan from the command line.

Renders the newest plan built from the assessment (building one first when the assessment has none and
the plans service can), through the same cache as the web download, in this process.
"""

from __future__ import annotations

import sys
from pathlib import Path

import click
from flask import Flask
from flask.cli import AppGroup

plans_cli = AppGroup("plans", help="Action plans.")


def plan_for_assessment(assessment_id: int):
    """The newest plan built from the assessment; built now when there is none. Raises ``ClickException``.

    A plan can only be built from the organisation's latest submitted assessment (that is what the plan
    page does); it is then recorded as made by the system (no user) in the audit trail.
    """
    from sqlalchemy import select

    from app.extensions import db
    from app.models.assessment import Assessment
    from app.models.plan import ActionPlan
    from app.services import assessments, plans

    assessment = db.session.get(Assessment, assessment_id)
    if assessment is None:
        raise click.ClickException(f"No assessment with id {assessment_id}.")
    plan = db.session.scalar(select(ActionPlan).where(ActionPlan.assessment_id == assessment.id)
                             .order_by(ActionPlan.version.desc()).limit(1))
    if plan is not None:
        return plan
    latest = assessments.latest_submitted(assessment.organisation)
    if latest is None or latest.id != assessment.id:
        raise click.ClickException(f"Assessment {assessment_id} has no plan, and a plan is only built from the "
                                   "organisation's latest submitted assessment.")
    plan, _created = plans.create_or_update(assessment.organisation, None)
    db.session.commit()
    return plan


@plans_cli.command("render")
@click.argument("assessment_id", type=int)
@click.option("--out", "out", required=True, type=click.Path(dir_okay=False, allow_dash=True),
              help='Where to write the PDF ("-" writes to standard output).')
@click.option("--locale", type=click.Choice(["vi", "en"]), default="vi", show_default=True,
              help="Language of the printed plan.")
def render(assessment_id: int, out: str, locale: str) -> None:
    """Write the PDF of the plan of ASSESSMENT_ID to FILE."""
    from app.services import pdf_cache, plans

    plan = plan_for_assessment(assessment_id)
    content = pdf_cache.get_or_render("plan", plans.printable(plan, locale), locale)
    if out == "-":
        sys.stdout.buffer.write(content)
        sys.stdout.buffer.flush()
        return
    Path(out).write_bytes(content)
    click.echo(f"Plan version {plan.version} of assessment {assessment_id} written to {out} "
               f"({len(content):,} bytes).", err=True)


def register(app: Flask) -> None:
    """Attach ``flask plans`` (called from ``app.cli.register``)."""
    app.cli.add_command(plans_cli)
