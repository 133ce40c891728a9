"""`sipas kiosk …`: enrol, revoke and list tablets, and their settings, until the officer
workspace does it."""

from __future__ import annotations

from pathlib import Path
from zoneinfo import ZoneInfo

import click
from flask import current_app
from flask.cli import with_appcontext

import questionnaires

from ..db import get_session
from ..models import Desk, KioskDevice
from ..services import field_register
from ..services import kiosk_devices as devices
from ..services import opening_hours as hours
from ..services.qr import qr_png, qr_svg
from ..web import public_base_url


def _local(moment: object) -> str:
    if moment is None:
        return "–"
    zone = ZoneInfo(current_app.config["TIME_ZONE"])
    return moment.astimezone(zone).strftime("%d/%m/%Y %H:%M")  # type: ignore[attr-defined]


def _desk(code: str) -> Desk:
    desk = field_register.desk_by_code(get_session(), code.strip().upper())
    if desk is None or not desk.active:
        raise click.BadParameter(f"no active desk with code {code!r}", param_hint="--desk")
    return desk


def _device(device_id: int) -> KioskDevice:
    device = get_session().get(KioskDevice, device_id)
    if device is None:
        raise click.BadParameter(f"no kiosk device with id {device_id}", param_hint="DEVICE")
    return device


def enrolment_url(code: str) -> str:
    """The address a tablet opens to enrol; the code is in the fragment, which browsers never
    send to a server, so it stays out of access logs."""
    return f"{public_base_url()}/kiosk/#enrol={code}"


@click.group("kiosk")
def kiosk_group() -> None:
    """Kiosk tablets: enrol, revoke, list, settings."""


@kiosk_group.command("enrol")
@click.option("--desk", "desk_code", help="Enrol a new tablet for this desk.")
@click.option("--device", "device_id", type=int, help="A new code for this existing device.")
@click.option("--label", default="", help="A name staff recognise, e.g. 'Tablet at counter 2'.")
@click.option(
    "--hours",
    "valid_hours",
    type=click.FloatRange(0.1, 24 * 30),
    help="Hours the code stays usable (default: SIPAS_KIOSK_ENROLMENT_HOURS).",
)
@click.option(
    "--qr",
    "qr_path",
    type=click.Path(dir_okay=False, path_type=Path),
    help="Also write the enrolment link's QR code (.png or .svg).",
)
@with_appcontext
def enrol(
    desk_code: str | None,
    device_id: int | None,
    label: str,
    valid_hours: float | None,
    qr_path: Path | None,
) -> None:
    """Print a one-time enrolment code and link for a tablet (and its QR code)."""
    if (desk_code is None) == (device_id is None):
        raise click.UsageError("give either --desk CODE (a new tablet) or --device ID")
    if qr_path is not None and qr_path.suffix.lower() not in (".png", ".svg"):
        raise click.BadParameter("the file name must end in .png or .svg", param_hint="--qr")
    session = get_session()
    valid = valid_hours or float(current_app.config["KIOSK_ENROLMENT_HOURS"])
    if device_id is not None:
        issued = devices.reissue(session, _device(device_id), hours=valid)
        if label:
            issued.device.label = label.strip()[:100]
    else:
        issued = devices.enrol_device(session, _desk(desk_code or ""), label, hours=valid)
    session.commit()
    device, url = issued.device, enrolment_url(issued.code)
    if qr_path is not None:
        qr_path.write_bytes(qr_svg(url) if qr_path.suffix.lower() == ".svg" else qr_png(url))
    click.echo(f"device {device.id} ({device.label or 'no label'}) for desk {device.desk.code}")
    click.echo(
        f"enrolment code {devices.format_code(issued.code)}, one use, valid until "
        f"{_local(issued.expires_at)}; open this link on the tablet:"
    )
    click.echo(url)


@kiosk_group.command("revoke")
@click.argument("device_id", metavar="DEVICE", type=int)
@with_appcontext
def revoke(device_id: int) -> None:
    """Stop a tablet: its token is refused; it keeps unsent responses until re-enrolled."""
    device = _device(device_id)
    session = get_session()
    devices.revoke(session, device)
    session.commit()
    click.echo(f"device {device.id} ({device.label or 'no label'}) revoked")


@kiosk_group.command("list")
@click.option("--desk", "desk_code", help="Only this desk's tablets.")
@with_appcontext
def list_devices(desk_code: str | None) -> None:
    """Every tablet: state, last contact, what waits in its queue."""
    desk_id = _desk(desk_code).id if desk_code else None
    found = devices.devices_with_desks(get_session(), desk_id)
    if not found:
        click.echo("no kiosk devices")
        return
    click.echo("id  desk      state     last contact      waiting rejected  version       label")
    for d in found:
        waiting = "–" if d.last_queue_length is None else str(d.last_queue_length)
        rejected = "–" if d.last_rejected_count is None else str(d.last_rejected_count)
        click.echo(
            f"{d.id:<3} {d.desk.code:<9} {d.state:<9} {_local(d.last_seen_at):<17} "
            f"{waiting:>7} {rejected:>8}  {(d.client_version or '–'):<13} {d.label}"
        )


def _optional_seconds(value: str | None, name: str) -> int | None | str:
    """A whole number, or "default" to clear the device's own value."""
    if value is None:
        return "keep"
    if value == "default":
        return None
    if not value.isdigit():
        raise click.BadParameter(f"{value!r}: a whole number or 'default'", param_hint=name)
    return int(value)


@kiosk_group.command("device")
@click.argument("device_id", metavar="DEVICE", type=int)
@click.option("--label")
@click.option("--min-seconds", help="Flag responses completed faster ('default' to clear).")
@click.option("--max-per-hour", help="Flag responses beyond this rate ('default' to clear).")
@click.option("--idle-seconds", help="Reset a survey left alone this long ('default' to clear).")
@with_appcontext
def device_settings(
    device_id: int,
    label: str | None,
    min_seconds: str | None,
    max_per_hour: str | None,
    idle_seconds: str | None,
) -> None:
    """Show or change one tablet's settings (the tablet picks them up at its next heartbeat)."""
    device = _device(device_id)
    if label is not None:
        device.label = label.strip()[:100]
    for name, raw, attribute in (
        ("--min-seconds", min_seconds, "min_seconds"),
        ("--max-per-hour", max_per_hour, "max_per_hour"),
        ("--idle-seconds", idle_seconds, "idle_seconds"),
    ):
        value = _optional_seconds(raw, name)
        if value == "keep":
            continue
        if attribute == "idle_seconds" and isinstance(value, int) and value < 10:
            raise click.BadParameter("at least 10 seconds", param_hint=name)
        if attribute == "max_per_hour" and value == 0:
            raise click.BadParameter("at least 1", param_hint=name)
        setattr(device, attribute, value)
    get_session().commit()
    config = current_app.config

    def shown(own: int | None, name: str) -> str:
        return f"{own} (this device)" if own is not None else f"{config[name]} (default)"

    click.echo(f"device {device.id} ({device.label or 'no label'}), desk {device.desk.code}")
    click.echo(f"  min seconds:  {shown(device.min_seconds, 'KIOSK_MIN_SECONDS')}")
    click.echo(f"  max per hour: {shown(device.max_per_hour, 'KIOSK_MAX_PER_HOUR')}")
    click.echo(f"  idle seconds: {shown(device.idle_seconds, 'KIOSK_IDLE_SECONDS')}")


@kiosk_group.command("desk")
@click.argument("desk_code", metavar="DESK")
@click.option("--questionnaire", help="The questionnaire the desk's tablets show.")
@click.option(
    "--hours", "hours_spec", help="e.g. 'mon-fri 07:30-11:30,13:30-17:00; sat 07:30-11:30'"
)
@click.option("--always-open", is_flag=True, help="No opening hours: always take responses.")
@with_appcontext
def desk_settings(
    desk_code: str, questionnaire: str | None, hours_spec: str | None, always_open: bool
) -> None:
    """Show or change a desk's kiosk questionnaire and opening hours (local time)."""
    desk = _desk(desk_code)
    if hours_spec is not None and always_open:
        raise click.UsageError("give --hours or --always-open, not both")
    if questionnaire is not None:
        if questionnaire not in questionnaires.available():
            known = ", ".join(questionnaires.available())
            raise click.BadParameter(f"{questionnaire!r}: use one of {known}")
        desk.kiosk_questionnaire = questionnaire
    if hours_spec is not None:
        try:
            desk.opening_hours = hours.parse_spec(hours_spec)
        except hours.HoursError as error:
            raise click.BadParameter(str(error), param_hint="--hours") from None
    if always_open:
        desk.opening_hours = None
    get_session().commit()
    click.echo(f"desk {desk.code} ({desk.name})")
    click.echo(f"  kiosk questionnaire: {desk.kiosk_questionnaire}")
    zone = current_app.config["TIME_ZONE"]
    click.echo(f"  opening hours ({zone}): {hours.describe(desk.opening_hours)}")
