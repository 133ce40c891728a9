"""Demo data: Quảng Ninh → Đầm Hà, its public administration center and communes, with a year of
synthetic responses whose differences between units, elements and months are realistic."""

from __future__ import annotations

import math
import random
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.orm import Session

from ..config import DEFAULTS
from ..models import Desk, Officer, Service, Target, Unit
from . import accounts, intake
from .integrity import Circumstances
from .questionnaire_store import current_version

LOCAL = ZoneInfo("Asia/Ho_Chi_Minh")
#: Demo data is flagged by the default web threshold, whatever the running app is set to, so the
#: same seed gives the same data everywhere.
DEMO_MIN_SECONDS = int(DEFAULTS["SURVEY_MIN_SECONDS"])  # type: ignore[call-overload]


@dataclass(frozen=True)
class DemoUnit:
    code: str
    name: str
    kind: str
    #: Latent satisfaction: higher means more "Hài lòng"; the spread makes rankings meaningful.
    level: float
    #: Change of the latent level over the year (a unit that improved, or one that slipped).
    trend: float
    #: Share of all responses collected here.
    weight: float
    desks: tuple[tuple[str, str], ...]


CENTER = DemoUnit(
    "QN-DH-TTHCC",
    "Trung tâm Hành chính công huyện Đầm Hà",
    "center",
    1.35,
    0.2,
    0.30,
    (
        ("DH01", "Quầy Tư pháp – Hộ tịch"),
        ("DH02", "Quầy Tài nguyên và Môi trường"),
        ("DH03", "Quầy Kinh tế và Hạ tầng"),
        ("DH04", "Quầy Lao động – Thương binh và Xã hội"),
    ),
)
COMMUNES = (
    DemoUnit(
        "QN-DH-TTDH",
        "Thị trấn Đầm Hà",
        "commune",
        1.2,
        0.1,
        0.10,
        (
            ("TTDH1", "Bộ phận Một cửa thị trấn Đầm Hà – Quầy 1"),
            ("TTDH2", "Bộ phận Một cửa thị trấn Đầm Hà – Quầy 2"),
        ),
    ),
    DemoUnit(
        "QN-DH-QTAN",
        "Xã Quảng Tân",
        "commune",
        1.3,
        0.0,
        0.08,
        (("QTAN1", "Bộ phận Một cửa xã Quảng Tân"),),
    ),
    DemoUnit(
        "QN-DH-DYEN",
        "Xã Dực Yên",
        "commune",
        0.75,
        0.45,
        0.07,
        (("DYEN1", "Bộ phận Một cửa xã Dực Yên"),),
    ),
    DemoUnit(
        "QN-DH-QAN",
        "Xã Quảng An",
        "commune",
        1.0,
        0.0,
        0.08,
        (("QAN1", "Bộ phận Một cửa xã Quảng An"),),
    ),
    DemoUnit(
        "QN-DH-DBINH",
        "Xã Đại Bình",
        "commune",
        1.1,
        -0.2,
        0.08,
        (("DBINH1", "Bộ phận Một cửa xã Đại Bình"),),
    ),
    DemoUnit(
        "QN-DH-TBINH",
        "Xã Tân Bình",
        "commune",
        0.6,
        0.1,
        0.06,
        (("TBINH1", "Bộ phận Một cửa xã Tân Bình"),),
    ),
    DemoUnit(
        "QN-DH-QLOI",
        "Xã Quảng Lợi",
        "commune",
        1.15,
        0.05,
        0.07,
        (("QLOI1", "Bộ phận Một cửa xã Quảng Lợi"),),
    ),
    DemoUnit(
        "QN-DH-TLAP",
        "Xã Tân Lập",
        "commune",
        0.9,
        0.0,
        0.06,
        (("TLAP1", "Bộ phận Một cửa xã Tân Lập"),),
    ),
    DemoUnit(
        "QN-DH-QLAM",
        "Xã Quảng Lâm",
        "commune",
        1.05,
        0.15,
        0.10,
        (
            ("QLAM1", "Bộ phận Một cửa xã Quảng Lâm"),
            ("QLAM2", "Bộ phận Một cửa xã Quảng Lâm – Quầy 2"),
        ),
    ),
)

SERVICES = (
    ("2.000815", "Chứng thực bản sao từ bản chính giấy tờ, văn bản"),
    ("1.001193", "Đăng ký khai sinh"),
    ("1.000894", "Đăng ký kết hôn"),
    ("1.004873", "Cấp lại Giấy xác nhận tình trạng hôn nhân"),
    ("1.004227", "Đăng ký biến động quyền sử dụng đất, quyền sở hữu tài sản gắn liền với đất"),
    ("2.000575", "Đăng ký thành lập hộ kinh doanh"),
    ("1.009994", "Cấp giấy phép xây dựng nhà ở riêng lẻ"),
    ("1.001776", "Thực hiện, điều chỉnh, thôi hưởng trợ cấp xã hội hằng tháng"),
)

#: Element effects (PA is the weakest nationally; TT usually the strongest).
ELEMENT_EFFECT = {"TC": 0.05, "TT": 0.25, "CC": 0.0, "KQ": 0.15, "PA": -0.45}
#: Share of "cannot judge" (a result not yet returned; never having complained).
NOT_APPLICABLE = {"KQ": 0.25, "PA": 0.45}

POSITIVE = (
    "Cán bộ hướng dẫn rất nhiệt tình, cảm ơn.",
    "Thủ tục nhanh gọn, đúng hẹn.",
    "Phòng chờ sạch sẽ, có điều hòa mát.",
    "Công chức lịch sự, giải thích dễ hiểu.",
    "Hài lòng, mong tiếp tục phát huy.",
)
NEGATIVE = (
    "Phải chờ lâu, nên bố trí thêm người tiếp nhận vào buổi sáng.",
    "Máy lấy số bị hỏng, không biết đến lượt mình.",
    "Hồ sơ bị trả lại hai lần vì hướng dẫn không rõ.",
    "Thiếu ghế ngồi chờ, phải đứng rất lâu.",
    "Không biết gửi phản ánh ở đâu, đề nghị có hòm thư góp ý.",
    "Kết quả trả chậm so với giấy hẹn.",
    "Nên có thêm hướng dẫn làm thủ tục trực tuyến.",
)
CUTS = (-1.3, -0.45, 0.35)  # latent → codes 1..4; above the last cut of 1.75 is 5


def _code(latent: float) -> int:
    for code, cut in enumerate((*CUTS, 1.75), start=1):
        if latent < cut:
            return code
    return 5


def load_demo(session: Session, *, responses: int = 3000, seed: int = 2024) -> str:
    """Add the demo units, desks, services and ``responses`` synthetic responses (no commit)."""
    rng = random.Random(seed)
    province = Unit(code="QN", name="Tỉnh Quảng Ninh", kind="province")
    district = Unit(code="QN-DH", name="Huyện Đầm Hà", kind="district", parent=province)
    session.add_all([province, district])
    desks: list[tuple[Desk, DemoUnit]] = []
    for spec in (CENTER, *COMMUNES):
        unit = Unit(code=spec.code, name=spec.name, kind=spec.kind, parent=district)
        session.add(unit)
        for code, name in spec.desks:
            desk = Desk(code=code, name=name, unit=unit)
            session.add(desk)
            desks.append((desk, spec))
    services = [Service(code=code, name=name) for code, name in SERVICES]
    session.add_all(services)
    session.flush()

    version = current_version(session, "sipas-service")
    questionnaire = version.questionnaire
    elements = {code: node.code for node in questionnaire.index.walk() for code in node.items}
    # Each unit has its own strong and weak criteria: that is what the drivers view finds.
    item_effect = {
        (spec.code, item): rng.gauss(0, 0.25) for spec in (CENTER, *COMMUNES) for item in elements
    }
    weights = [spec.weight / len(spec.desks) for _desk, spec in desks]
    now = datetime.now(UTC)
    start = now - timedelta(days=365)

    for _ in range(responses):
        desk, spec = rng.choices(desks, weights)[0]
        when = _office_time(rng, start, now)
        year_share = (when - start) / (now - start)
        person = spec.level + spec.trend * (year_share - 0.5) + rng.gauss(0, 0.55)
        raw: dict[str, object] = {}
        for item, element in elements.items():
            if rng.random() < NOT_APPLICABLE.get(element, 0.03):
                raw[item] = 0
                continue
            latent = person + ELEMENT_EFFECT[element] + item_effect[(spec.code, item)]
            raw[item] = _code(latent + rng.gauss(0, 0.6))
        raw["HL"] = _code(person + 0.1 + rng.gauss(0, 0.45))
        if rng.random() < 0.4:
            for code in ("Q10_5", "Q10_6", "Q10_7", "Q10_8", "Q10_9", "Q10_10"):
                raw[code] = min(4, max(1, round(2.8 - 0.6 * person + rng.gauss(0, 0.8))))
        for code, options in (
            ("RTYPE", 2),
            ("GENDER", 2),
            ("AGE", 5),
            ("EDU", 6),
            ("JOB", 7),
            ("ETHNIC", 2),
        ):
            if rng.random() < 0.55:
                raw[code] = 1 + rng.randrange(options)
        if "RTYPE" in raw:  # most people at a desk come for themselves
            raw["RTYPE"] = 2 if rng.random() < 0.15 else 1
        if rng.random() < 0.12:
            raw["comment"] = rng.choice(POSITIVE if person > 1.1 else NEGATIVE)
        # Most take about a minute; a few race through (the "too_fast" flag's reason to exist).
        duration = (
            rng.randint(3, 9) if rng.random() < 0.015 else int(math.exp(rng.gauss(4.2, 0.45)))
        )
        intake.store(
            intake.InSession(session, desk, submitted_at=when),
            intake.Received(
                uuid=uuid.UUID(int=rng.getrandbits(128), version=4),
                checked=intake.check(version, raw),
                channel="qr" if rng.random() < 0.85 else "web",
                circumstances=Circumstances(duration, DEMO_MIN_SECONDS),
                service=rng.choice(services) if rng.random() < 0.4 else None,
            ),
        )
    units = 2 + 1 + len(COMMUNES)
    officers = _add_officers(session)
    targets = _add_targets(session, district, now.astimezone(LOCAL).year)
    return (
        f"{units} units, {len(desks)} desks, {len(services)} services, {responses} responses, "
        f"{officers} officers, {targets} targets"
    )


#: One officer per role, with fixed demo passwords that `sipas welcome` prints.
DEMO_OFFICERS = (
    ("admin", "sipas-admin-2026", "admin", None, "Quản trị hệ thống"),
    ("damha", "sipas-damha-2026", "officer", "QN-DH", "Văn phòng HĐND và UBND huyện Đầm Hà"),
    ("quangtan", "sipas-quangtan-2026", "officer", "QN-DH-QTAN", "Văn phòng UBND xã Quảng Tân"),
    ("xem", "sipas-xem-2026", "viewer", "QN-DH", "Lãnh đạo huyện Đầm Hà (chỉ xem)"),
)


def _add_officers(session: Session) -> int:
    added = 0
    for username, password, role, unit_code, name in DEMO_OFFICERS:
        if session.scalar(select(Officer.id).where(Officer.username == username)) is not None:
            continue
        unit = session.scalar(select(Unit).where(Unit.code == unit_code)) if unit_code else None
        accounts.create_officer(
            session, username=username, password=password, role=role, full_name=name, unit=unit
        )
        added += 1
    return added


def _add_targets(session: Session, district: Unit, year: int) -> int:
    """The district's index plan: SIPAS ≥ 85 and PA ≥ 75 this year for every unit."""
    units = [district, *session.scalars(select(Unit).where(Unit.parent_id == district.id))]
    for unit in units:
        session.add(Target(unit=unit, code="SIPAS", period=str(year), value=85.0))
        session.add(Target(unit=unit, code="PA", period=str(year), value=75.0))
    return 2 * len(units)


def demo_officers_signing_in(session: Session) -> list[tuple[str, str, str, str]]:
    """The demo accounts whose demo password still works: (username, password, role, unit)."""
    found = []
    for username, password, role, _unit, _name in DEMO_OFFICERS:
        officer = session.scalar(select(Officer).where(Officer.username == username))
        if officer is not None and officer.active and accounts.check_password(officer, password):
            unit_name = officer.unit.name if officer.unit else "mọi đơn vị"
            found.append((username, password, role, unit_name))
    return found


def _office_time(rng: random.Random, start: datetime, end: datetime) -> datetime:
    """A random moment in office hours (Mon–Fri, 7:30–17:00 local) between start and end."""
    span = (end - start).total_seconds()
    while True:
        moment = (start + timedelta(seconds=rng.random() * span)).astimezone(LOCAL)
        minutes = moment.hour * 60 + moment.minute
        if moment.weekday() < 5 and 7 * 60 + 30 <= minutes < 17 * 60:
            return moment.astimezone(UTC)
