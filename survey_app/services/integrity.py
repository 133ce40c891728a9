"""The integrity rules a response is flagged by when it is stored: each one name and one setting.

A flag never rejects a response: it is stored, marked, and left to review (SIPAS.md). The
channel gathers the facts (how long it took, how many came from the same device in the hour
before, whether the desk was open); the rules here judge them, the same way for every channel.
"""

from __future__ import annotations

from dataclasses import dataclass

#: Answered faster than a person can read the questions (setting: ``SURVEY_MIN_SECONDS`` for
#: the web form, ``KIOSK_MIN_SECONDS`` or the device's own ``min_seconds`` for a kiosk).
TOO_FAST = "too_fast"
#: More responses from one kiosk in an hour than a desk serves (``KIOSK_MAX_PER_HOUR``).
OVER_RATE = "over_rate"
#: Started while the desk was closed by its opening hours (kiosks).
OUTSIDE_HOURS = "outside_hours"


@dataclass(frozen=True)
class Circumstances:
    """What is known about how a response was given; None where a channel cannot know it."""

    duration_seconds: int | None
    #: The channel's ``too_fast`` threshold in seconds.
    min_seconds: int
    #: Responses from the same device in the hour before this one was answered.
    earlier_in_hour: int | None = None
    max_per_hour: int | None = None
    during_opening_hours: bool | None = None


def too_fast(duration_seconds: int | None, min_seconds: int) -> bool:
    """Whether a response that took ``duration_seconds`` was given too fast to be read."""
    return duration_seconds is not None and duration_seconds < min_seconds


def flags_for(circumstances: Circumstances) -> tuple[str, ...]:
    """The flags a response is stored with, in the order the rules are listed above."""
    flags = []
    if too_fast(circumstances.duration_seconds, circumstances.min_seconds):
        flags.append(TOO_FAST)
    if (
        circumstances.earlier_in_hour is not None
        and circumstances.max_per_hour is not None
        and circumstances.earlier_in_hour >= circumstances.max_per_hour
    ):
        flags.append(OVER_RATE)
    if circumstances.during_opening_hours is False:
        flags.append(OUTSIDE_HOURS)
    return tuple(flags)
