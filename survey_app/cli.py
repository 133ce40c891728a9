"""The `sipas` command: database, questionnaires, demo data, invitations, QR codes, kiosk tablets,
serving."""

from __future__ import annotations

import shutil
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click
from flask import Flask, current_app
from flask.cli import with_appcontext

from . import create_app
from .command_group import SipasGroup, load_command

# `sipas --help` must start in well under a second: this module imports only click and Flask,
# and each command imports what it uses (SQLAlchemy, the models; pandas and scipy come with the
# app and with `sipas score`). tests/test_qr_and_cli.py checks pandas and scipy stay out.
if TYPE_CHECKING:
    from .models import Desk

# -- what the commands print ---------------------------------------------------------------


def public_base() -> str:
    """The configured public address; without one, the local default and a word on stderr."""
    if current_app.config["PUBLIC_BASE_URL_GUESSED"]:
        click.echo(
            f"note: SIPAS_PUBLIC_BASE_URL is not set, so links use "
            f"{current_app.config['PUBLIC_BASE_URL']}; set it to the address people open "
            "(make run sets it to where it listens).",
            err=True,
        )
    return str(current_app.config["PUBLIC_BASE_URL"])


def sipas_command() -> str:
    """How to type this command here: `sipas` if the shell finds this very one, else its path
    (e.g. `.venv/bin/sipas`, which `make setup` makes but does not put on PATH)."""
    script = Path(sys.executable).parent / "sipas"
    found = shutil.which("sipas")
    if found and Path(found).resolve() == script.resolve():
        return "sipas"
    return _as_typed(script)


def activate_script() -> str:
    return _as_typed(Path(sys.executable).parent / "activate")


def _as_typed(path: Path) -> str:
    """The path as short as it can be typed from the current directory."""
    try:
        return str(path.relative_to(Path.cwd()))
    except ValueError:
        return str(path)


# -- database ------------------------------------------------------------------------------


@click.group()
def db() -> None:
    """Database migrations (Alembic)."""


@db.command("upgrade")
@click.option("--revision", default="head", show_default=True)
@with_appcontext
def db_upgrade(revision: str) -> None:
    """Create or migrate the database to the latest schema."""
    from . import migrate
    from .db import get_engine

    migrate.upgrade(get_engine(), revision)
    click.echo(f"database at revision {migrate.current_revision(get_engine())}")


@db.command("current")
@with_appcontext
def db_current() -> None:
    """Print the database's schema revision."""
    from . import migrate
    from .db import get_engine

    click.echo(migrate.current_revision(get_engine()) or "empty (run `sipas db upgrade`)")


# -- questionnaires -------------------------------------------------------------------------


@click.group("questionnaires")
def questionnaires_group() -> None:
    """Check and publish questionnaire files."""


@questionnaires_group.command("check")
@click.argument("files", nargs=-1, type=click.Path(dir_okay=False, path_type=Path))
def questionnaires_check(files: tuple[Path, ...]) -> None:
    """Validate questionnaire files (default: every file shipped in questionnaires/)."""
    import questionnaires

    paths = list(files) or list(questionnaires.available().values())
    failed = 0
    for path in paths:
        try:
            q = questionnaires.load(path)
        except questionnaires.QuestionnaireError as error:
            failed += 1
            click.echo(f"error: {error}", err=True)
            continue
        click.echo(
            f"ok: {q.source}: {q.id} v{q.version}, {len(q.items)} questions, "
            f"{len(q.satisfaction_items)} scored items, method {q.scoring_method}"
        )
    if failed:
        sys.exit(1)


@questionnaires_group.command("publish")
@with_appcontext
def questionnaires_publish() -> None:
    """Store the current version of each shipped questionnaire (refuses edited versions)."""
    from .db import get_session
    from .services.questionnaire_store import VersionConflict, publish_shipped

    session = get_session()
    try:
        results = publish_shipped(session)
    except VersionConflict as conflict:
        session.rollback()
        raise click.ClickException(str(conflict)) from None
    session.commit()
    for row, new in results:
        state = "published" if new else "already published"
        click.echo(f"{row.questionnaire} v{row.version}: {state}")


# -- demo data ------------------------------------------------------------------------------


@click.group()
def demo() -> None:
    """Demonstration data (Quảng Ninh → Đầm Hà)."""


@demo.command("load")
@click.option("--if-empty", is_flag=True, help="Do nothing if the database already has units.")
@click.option("--responses", default=3000, show_default=True, help="Synthetic responses to make.")
@click.option("--seed", default=2024, show_default=True)
@click.option(
    "--household-survey",
    is_flag=True,
    help="Also a household survey plan over the demo communes, most forms keyed (channel paper).",
)
@with_appcontext
def demo_load(if_empty: bool, responses: int, seed: int, household_survey: bool) -> None:
    """Load the demo province, district, communes, desks and a year of responses."""
    from sqlalchemy import func, select

    from .db import get_session
    from .models import Unit
    from .services.demo import load_demo

    session = get_session()
    if if_empty and session.scalar(select(func.count()).select_from(Unit)):
        click.echo("demo: the database already has data; kept as it is")
        return
    summary = load_demo(session, responses=responses, seed=seed)
    if household_survey:
        session.flush()
        from .services.survey_demo import load_survey_demo

        plan = load_survey_demo(session, seed=seed)
        summary += f"; household survey plan {plan.id if plan else '-'} with keyed paper forms"
    session.commit()
    click.echo(f"demo: {summary}")


# -- invitations and QR codes ----------------------------------------------------------------


def _active_desk(code: str) -> Desk:
    from sqlalchemy import select

    from .db import get_session
    from .models import Desk

    desk = get_session().scalar(select(Desk).where(Desk.code == code.strip().upper()))
    if desk is None or not desk.active:
        raise click.BadParameter(f"no active desk with code {code!r}", param_hint="--desk")
    return desk


def _write_qr(url: str, path: Path) -> None:
    suffix = path.suffix.lower()
    if suffix not in (".png", ".svg"):
        raise click.BadParameter("the file name must end in .png or .svg", param_hint="--qr/-o")
    from .services.qr import qr_png, qr_svg

    path.write_bytes(qr_svg(url) if suffix == ".svg" else qr_png(url))


@click.command()
@click.option("--desk", "desk_code", required=True, help="The desk's public code.")
@click.option("--dossier", required=True, help="The dossier (receipt) number.")
@click.option("--service", "service_code", help="The procedure's code in the catalogue.")
@click.option("--days", type=click.IntRange(1, 366), help="Days the link stays valid.")
@click.option(
    "--qr",
    "qr_path",
    type=click.Path(dir_okay=False, path_type=Path),
    help="Also write the link's QR code (.png or .svg).",
)
@with_appcontext
def invite(
    desk_code: str,
    dossier: str,
    service_code: str | None,
    days: int | None,
    qr_path: Path | None,
) -> None:
    """Print a one-response survey link for a dossier, to print on its receipt."""
    from sqlalchemy import select

    from .citizen.routes import public_survey_url
    from .db import get_session
    from .models import Service
    from .services import invitations

    desk = _active_desk(desk_code)
    if (
        service_code
        and get_session().scalar(select(Service).where(Service.code == service_code)) is None
    ):
        raise click.BadParameter(f"no service with code {service_code!r}", param_hint="--service")
    try:
        invitation = invitations.make_invitation(
            desk.code,
            dossier,
            days=days or current_app.config["INVITATION_DAYS"],
            service_code=service_code,
        )
    except ValueError as error:
        raise click.BadParameter(str(error), param_hint="--dossier") from None
    token = invitations.sign(current_app.config["SECRET_KEY"], invitation)
    public_base()  # says so if the address is a guess
    url = public_survey_url(desk.code, token)
    if qr_path is not None:
        _write_qr(url, qr_path)
    click.echo(url)


@click.command()
@click.option("--desk", "desk_code", required=True, help="The desk's public code.")
@click.option(
    "-o",
    "--output",
    required=True,
    type=click.Path(dir_okay=False, path_type=Path),
    help="The file to write (.png or .svg).",
)
@with_appcontext
def qr(desk_code: str, output: Path) -> None:
    """Write the QR code of a desk's survey address."""
    from .citizen.routes import public_survey_url

    desk = _active_desk(desk_code)
    public_base()  # says so if the address is a guess
    url = public_survey_url(desk.code)
    _write_qr(url, output)
    click.echo(f"{output}: {url}")


@click.command()
@with_appcontext
def welcome() -> None:
    """Print where to start (used by `make run`)."""
    from sqlalchemy import func, select

    from .db import get_session
    from .models import Desk, Response, Unit

    session = get_session()
    base = public_base()
    desks = session.scalars(
        select(Desk).join(Unit).where(Desk.active.is_(True)).order_by(Unit.id, Desk.code)
    ).all()
    count = session.scalar(select(func.count()).select_from(Response)) or 0
    click.echo("")
    click.echo("SIPAS is ready.")
    if not desks:
        click.echo("  No desks yet: run `sipas demo load` for the demo data.")
        return
    first = desks[0]
    click.echo(f"  Survey of desk {first.code} ({first.name}, {first.unit.name}):")
    click.echo(f"      {base}/s/{first.code}")
    click.echo(f"  Its QR code:  {base}/qr/{first.code}.png  (or .svg)")
    click.echo(f"  Home page (type a desk code): {base}/")
    click.echo(f"  {len(desks)} desks, {count} responses stored. Other desks:")
    for desk in desks[1:8]:
        click.echo(f"      {base}/s/{desk.code}   {desk.name} – {desk.unit.name}")
    if len(desks) > 8:
        click.echo(f"      … and {len(desks) - 8} more")
    click.echo("  Invitation link for a dossier receipt:")
    click.echo(f"      {sipas_command()} invite --desk {first.code} --dossier H40.22-241124-0001")
    from .services.demo import demo_officers_signing_in

    demo_officers = demo_officers_signing_in(session)
    if demo_officers:
        click.echo(f"  Officer workspace: {base}/officer/sign-in  (demo accounts)")
        for username, password, role, unit_name in demo_officers:
            click.echo(f"      {role:<13} {username:<16} {password:<20} {unit_name}")
    else:
        click.echo(
            f"  Officer workspace: {base}/officer/sign-in  (`{sipas_command()} officer create`)"
        )
    if sipas_command() != "sipas":
        click.echo(f"  (`sipas` is {sipas_command()}; or first run: source {activate_script()})")
    click.echo("")


# -- officers ---------------------------------------------------------------------------------


class RoleChoice(click.Choice):  # type: ignore[type-arg]
    """The officer roles, read from the models only when `officer create` runs."""

    def __init__(self) -> None:
        super().__init__(())

    @property  # type: ignore[override]
    def choices(self) -> tuple[str, ...]:
        from .models import ROLES

        return ROLES

    @choices.setter
    def choices(self, _value: Any) -> None:
        pass  # click.Choice.__init__ assigns; the roles always come from the models


@click.group()
def officer() -> None:
    """Officer accounts of the workspace (/officer)."""


@officer.command("create")
@click.option("--username", required=True)
@click.option("--role", type=RoleChoice(), default="admin", show_default=True)
@click.option("--unit", "unit_code", help="An officer's or viewer's unit (and every unit below).")
@click.option("--name", "full_name", default="", help="Full name shown in the workspace.")
@click.password_option(help="At least 10 characters (asked twice when not given).")
@with_appcontext
def officer_create(
    username: str, role: str, unit_code: str | None, full_name: str, password: str
) -> None:
    """Create an officer account, e.g. the first administrator."""
    from sqlalchemy import select

    from .db import get_session
    from .models import Unit
    from .services import accounts

    session = get_session()
    unit = None
    if unit_code:
        unit = session.scalar(select(Unit).where(Unit.code == unit_code.strip().upper()))
        if unit is None:
            raise click.BadParameter(f"no unit with code {unit_code!r}", param_hint="--unit")
    try:
        made = accounts.create_officer(
            session,
            username=username,
            password=password,
            role=role,
            full_name=full_name,
            unit=unit,
        )
    except accounts.AccountError as error:
        raise click.ClickException(str(error)) from None
    accounts.record(
        session,
        "officer_created",
        actor="cli",
        target=made.username,
        role=role,
        unit=unit.code if unit else None,
    )
    session.commit()
    where = f" for {unit.name}" if unit else ""
    click.echo(
        f"officer {made.username} ({role}{where}) created; sign in at "
        f"{public_base()}/officer/sign-in"
    )


@officer.command("list")
@with_appcontext
def officer_list() -> None:
    """List officer accounts."""
    from sqlalchemy import select

    from .db import get_session
    from .models import Officer

    for row in get_session().scalars(select(Officer).order_by(Officer.username)):
        state = "" if row.active else " (deactivated)"
        unit = row.unit.code if row.unit else "all units"
        click.echo(f"{row.username}\t{row.role}\t{unit}\t{row.full_name}{state}")


@officer.command("set-password")
@click.option("--username", required=True)
@click.password_option(help="At least 10 characters.")
@with_appcontext
def officer_set_password(username: str, password: str) -> None:
    """Set an officer's password (ends their sessions)."""
    from sqlalchemy import select

    from .db import get_session
    from .models import Officer
    from .services import accounts

    session = get_session()
    wanted = accounts.normalise_username(username)
    row = session.scalar(select(Officer).where(Officer.username == wanted))
    if row is None:
        raise click.BadParameter(f"no officer {username!r}", param_hint="--username")
    try:
        accounts.set_password(row, password)
    except accounts.AccountError as error:
        raise click.ClickException(str(error)) from None
    accounts.record(session, "password_changed", actor="cli", target=row.username)
    session.commit()
    click.echo(f"password of {row.username} changed")


COMMANDS = (
    db,
    questionnaires_group,
    demo,
    invite,
    qr,
    officer,
    welcome,
)
#: Commands whose modules are heavy (the kiosk blueprint; pandas for `score`; the models for
#: backup, restore, purge and subject): imported when run.
LAZY_COMMANDS = {
    "kiosk": "survey_app.kiosk_api.commands:kiosk_group",
    "score": "analysis.cli:score",
    "backup": "survey_app.operations.commands:backup_command",
    "restore": "survey_app.operations.commands:restore_command",
    "purge": "survey_app.operations.commands:purge_command",
    "subject": "survey_app.operations.commands:subject_group",
    "sample": "survey_app.cli_survey:sample_group",
    "units": "survey_app.cli_units:units_group",
    "scores": "survey_app.cli_scale:scores_group",
    "exports": "survey_app.cli_exports:exports_group",
    "federation": "survey_app.cli_exports:federation_group",
}


def init_app(app: Flask) -> None:
    """Make the commands available as `flask --app survey_app …` and to app.test_cli_runner()."""
    for command in COMMANDS:
        app.cli.add_command(command)
    for name, target in LAZY_COMMANDS.items():
        app.cli.add_command(load_command(target), name)


@click.group(cls=SipasGroup, create_app=create_app, lazy=LAZY_COMMANDS, add_version_option=False)
def main() -> None:
    """sipas — citizen satisfaction surveys (SIPAS) for public administration desks.

    Settings come from SIPAS_* environment variables (see README.md).
    """


for _command in COMMANDS:
    main.add_command(_command)
