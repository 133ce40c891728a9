"""The settings a kiosk works by: the app's KIOSK_* values, overridden per device."""

from __future__ import annotations

from dataclasses import dataclass

from flask import current_app

from ..models import KioskDevice


@dataclass(frozen=True)
class KioskSettings:
    #: Seconds without a touch before a half-answered survey is discarded.
    idle_seconds: int
    #: Seconds the thank-you screen stays before the start screen returns.
    thanks_seconds: float
    #: A response completed faster than this is stored with the flag ``too_fast``.
    min_seconds: int
    #: Responses beyond this many in an hour (by answer time) are stored with ``over_rate``.
    max_per_hour: int
    heartbeat_seconds: int
    #: The cap of the upload backoff.
    retry_max_seconds: int


def settings_for(device: KioskDevice) -> KioskSettings:
    config = current_app.config

    def pick(override: int | None, name: str) -> int:
        return int(override if override is not None else config[name])

    return KioskSettings(
        idle_seconds=pick(device.idle_seconds, "KIOSK_IDLE_SECONDS"),
        thanks_seconds=float(config["KIOSK_THANKS_SECONDS"]),
        min_seconds=pick(device.min_seconds, "KIOSK_MIN_SECONDS"),
        max_per_hour=pick(device.max_per_hour, "KIOSK_MAX_PER_HOUR"),
        heartbeat_seconds=int(config["KIOSK_HEARTBEAT_SECONDS"]),
        retry_max_seconds=int(config["KIOSK_RETRY_MAX_SECONDS"]),
    )
