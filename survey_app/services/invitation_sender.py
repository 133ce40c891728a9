"""Sending an invitation link by SMS or Zalo ZNS, through a pluggable sender.

The default sender only writes to the log. The HTTP sender posts one JSON message per
invitation to a provider gateway (an SMS brandname gateway or a Zalo ZNS relay) that the
province contracts; what it sends is fixed by settings — the SMS text template and the ZNS
template id — never by the caller. The phone number is used for the one request and never
stored or logged whole (SIPAS.md §10: basic personal data, sent only with explicit consent).

Provider interface (what a gateway must accept)::

    POST <INVITATION_SENDER_URL>
    Authorization: Bearer <INVITATION_SENDER_API_KEY>
    Content-Type: application/json
    {"channel": "sms", "to": "0912345678", "text": "…"}
    {"channel": "zalo_zns", "to": "84912345678", "template_id": "…",
     "params": {"link": "…", "desk": "…", "expires_on": "…"}}

    2xx {"id": "<provider message id>"}: sent; anything else: not sent (reported per item).
"""

from __future__ import annotations

import json
import logging
import urllib.error
import urllib.request
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Protocol

log = logging.getLogger(__name__)

#: The settings a sender reads (README "One-stop system"): sender kind, gateway, templates.
SETTINGS = (
    "INVITATION_SENDER",
    "INVITATION_SENDER_URL",
    "INVITATION_SENDER_API_KEY",
    "INVITATION_SENDER_TIMEOUT",
    "INVITATION_SEND_CHANNELS",
    "INVITATION_SMS_TEMPLATE",
    "INVITATION_ZNS_TEMPLATE_ID",
)


@dataclass(frozen=True)
class Message:
    channel: str
    to: str
    link: str
    desk_code: str
    expires_on: str


@dataclass(frozen=True)
class Sent:
    """What happened to one message: ``ok``, the provider's id, or why not."""

    ok: bool
    provider_id: str | None = None
    error: str | None = None

    def as_dict(self) -> dict[str, Any]:
        return {"ok": self.ok, "provider_id": self.provider_id, "error": self.error}


class Sender(Protocol):
    def send(self, message: Message) -> Sent: ...


def masked(phone: str) -> str:
    """A phone number as the log may show it: the last three digits."""
    return "*" * max(len(phone) - 3, 0) + phone[-3:]


def zalo_number(phone: str) -> str:
    """Zalo ZNS addresses a phone in international form without '+': 84…"""
    digits = phone.lstrip("+")
    return "84" + digits[1:] if digits.startswith("0") else digits


@dataclass(frozen=True)
class Templates:
    sms: str
    zns_template_id: str

    def body(self, message: Message) -> dict[str, Any]:
        if message.channel == "sms":
            text = self.sms.format(
                link=message.link, desk=message.desk_code, expires_on=message.expires_on
            )
            return {"channel": "sms", "to": message.to, "text": text}
        return {
            "channel": "zalo_zns",
            "to": zalo_number(message.to),
            "template_id": self.zns_template_id,
            "params": {
                "link": message.link,
                "desk": message.desk_code,
                "expires_on": message.expires_on,
            },
        }


@dataclass(frozen=True)
class LogSender:
    """Writes what it would send to the log (the phone masked): the default."""

    templates: Templates

    def send(self, message: Message) -> Sent:
        body = self.templates.body(message)
        body["to"] = masked(str(body["to"]))
        log.info("invitation not sent (log sender): %s", json.dumps(body, ensure_ascii=False))
        return Sent(ok=True, provider_id=None)


@dataclass(frozen=True)
class HttpSender:
    """Posts to a provider gateway (interface in this module's docstring)."""

    url: str
    api_key: str
    templates: Templates
    timeout: float = 5.0

    def send(self, message: Message) -> Sent:
        data = json.dumps(self.templates.body(message), ensure_ascii=False).encode()
        request = urllib.request.Request(
            self.url,
            data=data,
            method="POST",
            headers={
                "Content-Type": "application/json; charset=utf-8",
                "Authorization": f"Bearer {self.api_key}",
            },
        )
        try:
            with urllib.request.urlopen(request, timeout=self.timeout) as answer:  # noqa: S310
                reply = json.loads(answer.read(64 * 1024) or b"{}")
        except urllib.error.HTTPError as error:
            log.warning(
                "%s to %s refused: HTTP %s", message.channel, masked(message.to), error.code
            )
            return Sent(ok=False, error=f"provider answered HTTP {error.code}")
        except (urllib.error.URLError, TimeoutError, OSError, ValueError) as error:
            log.warning("%s to %s failed: %s", message.channel, masked(message.to), error)
            return Sent(ok=False, error="provider unreachable or answered nonsense")
        provider_id = reply.get("id") if isinstance(reply, dict) else None
        return Sent(ok=True, provider_id=str(provider_id) if provider_id is not None else None)


def from_settings(config: Mapping[str, Any]) -> Sender:
    """The sender the settings choose: ``INVITATION_SENDER`` "log" (default) or "http"."""
    templates = Templates(
        sms=str(config["INVITATION_SMS_TEMPLATE"]),
        zns_template_id=str(config["INVITATION_ZNS_TEMPLATE_ID"]),
    )
    kind = config["INVITATION_SENDER"]
    if kind == "log":
        return LogSender(templates)
    if kind == "http":
        url = config["INVITATION_SENDER_URL"]
        if not url or not str(url).startswith(("http://", "https://")):
            raise ValueError("INVITATION_SENDER is http but INVITATION_SENDER_URL is not a URL")
        return HttpSender(
            str(url),
            str(config["INVITATION_SENDER_API_KEY"] or ""),
            templates,
            float(config["INVITATION_SENDER_TIMEOUT"]),
        )
    raise ValueError(f"INVITATION_SENDER must be 'log' or 'http', not {kind!r}")
