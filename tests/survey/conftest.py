"""Fixtures of the province's own survey: three communes with a desk each, a frame of
households in villages, clerks (officer accounts) and a stored plan."""

from __future__ import annotations

import io
from dataclasses import dataclass

import pandas as pd
import pytest
from flask import Flask

from survey_app.db import get_session
from survey_app.models import Desk, Officer, Unit
from survey_app.services import accounts

COMMUNES = ("X-AN", "X-BINH", "X-CHAU")
#: Households per village of each commune (villages are named per commune: "T1" twice is two).
VILLAGES = {"X-AN": [12, 8, 10], "X-BINH": [9, 11], "X-CHAU": [6, 6, 6, 6]}
CLERKS = ("thu1", "thu2", "thu3")
PASSWORD = "khao-sat-2026-mat-khau"


@dataclass(frozen=True)
class Province:
    communes: tuple[str, ...] = COMMUNES


@pytest.fixture
def province(app: Flask) -> Province:
    with app.app_context():
        session = get_session()
        root = Unit(code="X-TINH", name="Tỉnh Khảo Sát", kind="province")
        session.add(root)
        for code in COMMUNES:
            unit = Unit(code=code, name=f"Xã {code[2:].title()}", kind="commune", parent=root)
            session.add_all([unit, Desk(code=f"D{code[2:]}", name=f"Một cửa {code}", unit=unit)])
        session.flush()
        for name in (*CLERKS, "quantri"):
            accounts.create_officer(
                session,
                username=name,
                password=PASSWORD,
                role="admin" if name == "quantri" else "officer",
                unit=root,
                full_name=f"Cán bộ {name}",
            )
        session.commit()
    return Province()


def frame_rows() -> list[dict[str, str]]:
    rows = []
    for commune, sizes in VILLAGES.items():
        for v, size in enumerate(sizes, start=1):
            for h in range(size):
                rows.append({"ma_ho": f"{commune}-T{v}-{h:02d}", "xa": commune, "thon": f"T{v}"})
    return rows


def frame_csv(rows: list[dict[str, str]] | None = None) -> bytes:
    buffer = io.StringIO()
    pd.DataFrame(rows if rows is not None else frame_rows()).to_csv(buffer, index=False)
    return buffer.getvalue().encode("utf-8-sig")


def officer_id(app: Flask, username: str) -> int:
    from sqlalchemy import select

    with app.app_context():
        found = get_session().scalar(select(Officer.id).where(Officer.username == username))
        assert found is not None
        return int(found)
