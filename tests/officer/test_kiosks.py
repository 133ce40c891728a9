"""Kiosk tablets from the workspace: enrol with a one-time code and QR, revoke, re-enrol."""

from __future__ import annotations

import base64
import io
import re
from collections.abc import Callable

import zxingcpp
from flask import Flask
from flask.testing import FlaskClient
from PIL import Image
from sqlalchemy import select

from survey_app.db import get_session
from survey_app.models import AuditEvent, KioskDevice


def test_an_officer_enrols_a_tablet_that_then_works(
    demo: Flask, signed_in: Callable[[str | None], FlaskClient]
) -> None:
    officer = signed_in("quangtan")
    page = officer.post(
        "/officer/field/kiosks/enrol", data={"desk": "QUANGTAN1", "label": "Máy bàn tiếp nhận"}
    ).get_data(as_text=True)
    code = re.search(r"<code>([A-Z0-9-]+)</code>", page)
    assert code is not None
    qr = re.search(r'src="data:image/png;base64,([^"]+)"', page)
    assert qr is not None
    [scanned] = zxingcpp.read_barcodes(Image.open(io.BytesIO(base64.b64decode(qr.group(1)))))
    assert scanned.text.endswith("/kiosk/#enrol=" + code.group(1).replace("-", ""))

    tablet = demo.test_client()
    answer = tablet.post("/kiosk/api/enrol", json={"code": code.group(1)})
    assert answer.status_code == 201
    listing = officer.get("/officer/field/kiosks").get_data(as_text=True)
    assert "Máy bàn tiếp nhận" in listing and "Đang dùng" in listing

    with demo.app_context():
        device = get_session().scalar(
            select(KioskDevice).where(KioskDevice.label == "Máy bàn tiếp nhận")
        )
        assert device is not None and device.enrolled_at is not None
        device_id = device.id
    assert officer.post(f"/officer/field/kiosks/{device_id}/revoke").status_code == 302
    token = answer.get_json()["token"]
    refused = tablet.post(
        "/kiosk/api/heartbeat", json={"queue": 0}, headers={"Authorization": f"Bearer {token}"}
    )
    assert refused.status_code == 403
    # A new code brings the same device back.
    again = officer.post(f"/officer/field/kiosks/{device_id}/code").get_data(as_text=True)
    new_code = re.search(r"<code>([A-Z0-9-]+)</code>", again)
    assert new_code is not None and new_code.group(1) != code.group(1)
    assert tablet.post("/kiosk/api/enrol", json={"code": new_code.group(1)}).status_code == 201
    with demo.app_context():
        actions = set(get_session().scalars(select(AuditEvent.action)))
        assert {"kiosk_enrolled", "kiosk_revoked", "kiosk_code_issued"} <= actions
