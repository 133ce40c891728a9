"""`sipas sample …` and `sipas paper …`: the province's own survey from the command line (the plan,
printable forms, importing keyed forms). Heavy imports happen inside the commands."""

from __future__ import annotations

import sys
from pathlib import Path

import click
from flask.cli import with_appcontext


@click.group("sample")
def sample_group() -> None:
    """Sample plans of the province's own survey: sizes, allocation, the seeded draw."""


@sample_group.command("plan")
@click.argument("frame", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--name", default="", help="Name of the plan (default: the frame's file name).")
@click.option(
    "--questionnaire",
    type=click.Choice(["sipas-2023", "sipas-service"]),
    default="sipas-2023",
    show_default=True,
)
@click.option("--frame-kind", type=click.Choice(["households", "dossiers"]), default="households")
@click.option(
    "--stratum",
    "stratum_column",
    default="stratum",
    show_default=True,
    help="Column of the frame naming the stratum (a unit code: commune, department).",
)
@click.option(
    "--unit",
    "unit_column",
    default="unit",
    show_default=True,
    help="Column with each household's or dossier's id (each listed once).",
)
@click.option(
    "--cluster",
    "cluster_column",
    default=None,
    help="Column with the village: draws villages first, then households.",
)
@click.option(
    "--rule",
    type=click.Choice(["ministry", "margin"]),
    default="ministry",
    show_default=True,
    help="ministry: n = N/(1 + N e²); margin: n for ± e at 95%.",
)
@click.option("--margin", type=float, default=0.05, show_default=True, help="e (0.05 = ±5 points).")
@click.option(
    "--allocation",
    type=click.Choice(["required", "equal", "proportional", "neyman"]),
    default="required",
    show_default=True,
    help="required: each stratum its own n; neyman minimises the province's margin.",
)
@click.option("--total", type=int, default=None, help="Total n to allocate (default Σ required).")
@click.option("--minimum", type=int, default=0, show_default=True)
@click.option("--seed", type=int, required=True, help="The draw's seed (same seed, same sample).")
@click.option("--per-cluster", type=int, default=10, show_default=True)
@click.option(
    "--sizes",
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    default=None,
    help="CSV/XLSX with stratum and n: fixed sizes per stratum.",
)
@click.option("--dry-run", is_flag=True, help="Compute and print; store nothing.")
@with_appcontext
def sample_plan(
    frame: Path,
    name: str,
    questionnaire: str,
    frame_kind: str,
    stratum_column: str,
    unit_column: str,
    cluster_column: str | None,
    rule: str,
    margin: float,
    allocation: str,
    total: int | None,
    minimum: int,
    seed: int,
    per_cluster: int,
    sizes: Path | None,
    dry_run: bool,
) -> None:
    """Plan a survey from a frame (CSV/XLSX): sizes per stratum, allocation, the seeded draw."""
    from .db import get_session
    from .services import sample_plans

    try:
        table = sample_plans.read_frame(frame.read_bytes(), frame.name)
        fixed = None
        if sizes is not None:
            given = sample_plans.read_frame(sizes.read_bytes(), sizes.name)
            fixed = sample_plans.sizes_from_table(given)
        request = sample_plans.PlanRequest(
            name=name or frame.stem,
            questionnaire=questionnaire,
            frame_kind=frame_kind,
            stratum_column=stratum_column,
            unit_column=unit_column,
            cluster_column=cluster_column,
            rule=rule,
            margin=margin,
            allocation=allocation,
            total=total,
            minimum=minimum,
            seed=seed,
            per_cluster=per_cluster,
            sizes=fixed,
        )
        session = get_session()
        planned = sample_plans.preview(session, table, request)
    except sample_plans.PlanError as error:
        click.echo(f"error: {error}", err=True)
        sys.exit(2)
    click.echo(planned.strata.to_string(index=False))
    margin_text = (
        f", province margin ±{planned.province_margin * 100:.2f} pp"
        if planned.province_margin is not None
        else ""
    )
    click.echo(f"total n {planned.total}, drawn {len(planned.drawn)}{margin_text}")
    for code, drawn, wanted in planned.shortfalls():
        click.echo(
            f"warning: stratum {code}: {drawn} drawn of {wanted} planned (the drawn villages "
            "hold too few households: raise --per-cluster)",
            err=True,
        )
    if dry_run:
        click.echo("dry run: nothing stored")
        return
    stored = sample_plans.store(session, planned)
    session.commit()
    click.echo(
        f"plan {stored.id} stored: forms {sample_plans.form_code(stored.id, 1)} … "
        f"{sample_plans.form_code(stored.id, len(planned.drawn))}"
    )


@sample_group.command("forms")
@click.argument("plan_id", type=int)
@click.option("-o", "--output", type=click.Path(dir_okay=False, path_type=Path), required=True)
@click.option("--first", type=int, default=1, show_default=True)
@click.option("--last", type=int, default=None, help="Last form number (default: the whole plan).")
@with_appcontext
def sample_forms(plan_id: int, output: Path, first: int, last: int | None) -> None:
    """Write the plan's paper forms (one numbered copy per drawn unit, with its QR) as a PDF."""
    from .db import get_session
    from .reports import paper_forms
    from .services import sample_plans

    session = get_session()
    plan = sample_plans.plan_or_none(session, plan_id)
    if plan is None:
        click.echo(f"error: no plan {plan_id}", err=True)
        sys.exit(2)
    units = [
        u
        for u in sample_plans.sample_units(session, plan)
        if u.form_number >= first and (last is None or u.form_number <= last)
    ]
    output.write_bytes(paper_forms.forms_pdf(plan, units))
    click.echo(f"{len(units)} forms written to {output}")


@sample_group.command("import")
@click.argument("plan_id", type=int)
@click.argument("keyed", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@with_appcontext
def sample_import(plan_id: int, keyed: Path) -> None:
    """Import keyed forms (CSV/XLSX: form_number, then one column per item code)."""
    from .db import get_session
    from .services import paper_keying, sample_plans

    session = get_session()
    plan = sample_plans.plan_or_none(session, plan_id)
    if plan is None:
        click.echo(f"error: no plan {plan_id}", err=True)
        sys.exit(2)
    try:
        report = paper_keying.import_file(session, plan, keyed.read_bytes(), keyed.name)
    except sample_plans.PlanError as error:
        click.echo(f"error: {error}", err=True)
        sys.exit(2)
    session.commit()
    for rejected in report.rejected:
        click.echo(f"row {rejected.row}: {rejected.reason}", err=True)
    click.echo(
        f"{report.stored} stored, {report.already} already stored, {len(report.rejected)} rejected"
    )
