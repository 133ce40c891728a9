"""Demo data: Quảng Ninh in 2026 — the province, its public administration service centre and a
part of its 54 commune-level units with their branches and desks, and the history of the former
Đầm Hà district: 18 months of responses under its old units, then the merger of 1/7/2025
(Resolution 1679/NQ-UBTVQH15) recorded as data, and the new communes since. Synthetic
responses whose differences between units, elements and months are realistic."""

from __future__ import annotations

import math
import random
import uuid
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.orm import Session

from ..config import DEFAULTS
from ..models import Desk, Officer, Service, Target, Unit
from . import accounts, intake, unit_history
from .integrity import Circumstances
from .questionnaire_store import PublishedVersion, current_version

LOCAL = ZoneInfo("Asia/Ho_Chi_Minh")
#: Demo data is flagged by the default web threshold, whatever the running app is set to, so the
#: same seed gives the same data everywhere.
DEMO_MIN_SECONDS = int(DEFAULTS["SURVEY_MIN_SECONDS"])  # type: ignore[call-overload]

#: The day the two-tier map began (Resolution 1679/NQ-UBTVQH15 of 16/6/2025).
MERGER = date(2025, 7, 1)
MERGER_BASIS = "Nghị quyết 1679/NQ-UBTVQH15 ngày 16/6/2025"
#: Months of responses under the old units before the merger.
HISTORY_MONTHS = 18
#: Share of the responses given before the merger (collection grew after it).
HISTORY_SHARE = 0.3


@dataclass(frozen=True)
class DemoUnit:
    code: str
    name: str
    kind: str
    #: Latent satisfaction: higher means more "Hài lòng"; the spread makes rankings meaningful.
    level: float
    #: Change of the latent level over the unit's time (a unit that improved, or one that slipped).
    trend: float
    #: Share of the responses of its time collected here.
    weight: float
    desks: tuple[tuple[str, str], ...]


@dataclass(frozen=True)
class DemoPlace:
    """A commune-level unit of today with its branch of the provincial centre (its desks) and
    the reception points under the branch."""

    unit: DemoUnit
    branch_desks: tuple[tuple[str, str], ...]
    reception_points: tuple[tuple[str, str, tuple[tuple[str, str], ...]], ...] = ()


def _branch(
    code: str,
    name: str,
    kind_word: str,
    level: float,
    trend: float,
    weight: float,
    desks: tuple[tuple[str, str], ...],
    points: tuple[tuple[str, str, tuple[tuple[str, str], ...]], ...] = (),
) -> DemoPlace:
    kind = {"Xã": "commune", "Phường": "ward", "Đặc khu": "special_zone"}[kind_word]
    return DemoPlace(
        DemoUnit(code, f"{kind_word} {name}", kind, level, trend, weight, ()), desks, points
    )


PROVINCE_CODE = "QN"
PROVINCIAL_CENTER = DemoUnit(
    "QN-TTPVHCC",
    "Trung tâm Phục vụ hành chính công tỉnh Quảng Ninh",
    "center",
    1.4,
    0.1,
    0.14,
    (
        ("QN01", "Quầy Tư pháp"),
        ("QN02", "Quầy Nông nghiệp và Môi trường"),
        ("QN03", "Quầy Xây dựng"),
    ),
)
#: Today's units in the demo (a part of the 54), each with its branch and desks.
PLACES = (
    _branch(
        "QN-DAMHA",
        "Đầm Hà",
        "Xã",
        1.1,
        0.2,
        0.22,
        (
            ("DAMHA1", "Chi nhánh xã Đầm Hà – Quầy 1"),
            ("DAMHA2", "Chi nhánh xã Đầm Hà – Quầy 2"),
            ("DAMHA3", "Chi nhánh xã Đầm Hà – Quầy 3"),
        ),
        (("QN-DAMHA-DTN1", "Điểm tiếp nhận Tân Bình", (("DAMHA4", "Điểm Tân Bình – Quầy 1"),)),),
    ),
    _branch(
        "QN-QUANGTAN",
        "Quảng Tân",
        "Xã",
        1.0,
        0.15,
        0.16,
        (
            ("QUANGTAN1", "Chi nhánh xã Quảng Tân – Quầy 1"),
            ("QUANGTAN2", "Chi nhánh xã Quảng Tân – Quầy 2"),
        ),
    ),
    _branch(
        "QN-QUANGHA",
        "Quảng Hà",
        "Xã",
        0.85,
        0.1,
        0.09,
        (("QUANGHA1", "Chi nhánh xã Quảng Hà – Quầy 1"),),
    ),
    _branch(
        "QN-TIENYEN",
        "Tiên Yên",
        "Xã",
        0.7,
        0.35,
        0.08,
        (("TIENYEN1", "Chi nhánh xã Tiên Yên – Quầy 1"),),
    ),
    _branch(
        "QN-HALONG",
        "Hạ Long",
        "Phường",
        1.3,
        0.0,
        0.12,
        (
            ("HALONG1", "Chi nhánh phường Hạ Long – Quầy 1"),
            ("HALONG2", "Chi nhánh phường Hạ Long – Quầy 2"),
        ),
    ),
    _branch(
        "QN-BAICHAY",
        "Bãi Cháy",
        "Phường",
        1.2,
        -0.2,
        0.08,
        (("BAICHAY1", "Chi nhánh phường Bãi Cháy – Quầy 1"),),
    ),
    _branch(
        "QN-MONGCAI1",
        "Móng Cái 1",
        "Phường",
        0.95,
        0.0,
        0.06,
        (("MONGCAI1", "Chi nhánh phường Móng Cái 1 – Quầy 1"),),
    ),
    _branch(
        "QN-VANDON",
        "Vân Đồn",
        "Đặc khu",
        0.9,
        0.1,
        0.04,
        (("VANDON1", "Chi nhánh đặc khu Vân Đồn – Quầy 1"),),
        (("QN-VANDON-DTN1", "Điểm tiếp nhận Quan Lạn", (("QUANLAN1", "Điểm Quan Lạn"),)),),
    ),
    _branch(
        "QN-COTO",
        "Cô Tô",
        "Đặc khu",
        1.05,
        0.0,
        0.01,
        (("COTO1", "Chi nhánh đặc khu Cô Tô – Quầy 1"),),
        (("QN-COTO-DTN1", "Điểm tiếp nhận Thanh Lân", (("THANHLAN1", "Điểm Thanh Lân"),)),),
    ),
)

#: The former Đầm Hà district (until 30/6/2025): its centre and communes, with their desks.
OLD_DISTRICT = ("QN-DH", "Huyện Đầm Hà")
OLD_CENTER = DemoUnit(
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
OLD_COMMUNES = (
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
        "QN-DH-XDH",
        "Xã Đầm Hà",
        "commune",
        0.95,
        0.1,
        0.06,
        (("XDH1", "Bộ phận Một cửa xã Đầm Hà"),),
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
        "QN-DH-DBINH",
        "Xã Đại Bình",
        "commune",
        1.1,
        -0.2,
        0.08,
        (("DBINH1", "Bộ phận Một cửa xã Đại Bình"),),
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
        "QN-DH-QTAN",
        "Xã Quảng Tân",
        "commune",
        1.3,
        0.0,
        0.08,
        (("QTAN1", "Bộ phận Một cửa xã Quảng Tân"),),
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
    DemoUnit(
        "QN-DH-DYEN",
        "Xã Dực Yên",
        "commune",
        0.75,
        0.45,
        0.07,
        (("DYEN1", "Bộ phận Một cửa xã Dực Yên"),),
    ),
)
#: Merged into Quảng Tân on 1/1/2020 (before the demo's responses): history only.
QUANG_LOI = ("QN-DH-QLOI", "Xã Quảng Lợi", date(2020, 1, 1), "Nghị quyết 837/NQ-UBTVQH14")
#: Resolution 1679: which old units formed which new commune (SIPAS.md §8).
MERGES = {
    "QN-DAMHA": ("QN-DH-TTDH", "QN-DH-XDH", "QN-DH-TBINH", "QN-DH-DBINH", "QN-DH-TLAP"),
    "QN-QUANGTAN": ("QN-DH-QTAN", "QN-DH-QAN", "QN-DH-QLAM", "QN-DH-DYEN"),
}

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


def _months_before(day: date, months: int) -> date:
    index = day.year * 12 + day.month - 1 - months
    return date(index // 12, index % 12 + 1, 1)


def _local_midnight(day: date) -> datetime:
    return datetime.combine(day, time(), LOCAL).astimezone(UTC)


def load_demo(session: Session, *, responses: int = 3000, seed: int = 2024) -> str:
    """Add the demo province, its units (today's and the former district's), desks, services,
    the recorded merger and ``responses`` synthetic responses (no commit)."""
    rng = random.Random(seed)
    now = datetime.now(UTC)
    merger_at = _local_midnight(MERGER)
    history_start = _local_midnight(_months_before(MERGER, HISTORY_MONTHS))
    province = Unit(code=PROVINCE_CODE, name="Tỉnh Quảng Ninh", kind="province")
    center = Unit(
        code=PROVINCIAL_CENTER.code,
        name=PROVINCIAL_CENTER.name,
        kind="center",
        parent=province,
    )
    session.add_all([province, center])
    center_desks = [
        (Desk(code=code, name=name, unit=center), PROVINCIAL_CENTER)
        for code, name in PROVINCIAL_CENTER.desks
    ]

    # The map until 30/6/2025: the district, its centre and communes.
    district = Unit(code=OLD_DISTRICT[0], name=OLD_DISTRICT[1], kind="district", parent=province)
    code, name, _ended, _basis = QUANG_LOI
    quang_loi = Unit(code=code, name=name, kind="commune", parent=district)
    session.add_all([district, quang_loi])
    old_desks: list[tuple[Desk, DemoUnit]] = []
    for spec in (OLD_CENTER, *OLD_COMMUNES):
        unit = Unit(code=spec.code, name=spec.name, kind=spec.kind, parent=district)
        session.add(unit)
        old_desks.extend((Desk(code=c, name=n, unit=unit), spec) for c, n in spec.desks)

    # Today's map (from 1/7/2025): communes, wards and special zones, each with its branch of
    # the provincial centre and reception points.
    new_desks: list[tuple[Desk, DemoUnit]] = []
    for place in PLACES:
        spec = place.unit
        unit = Unit(
            code=spec.code, name=spec.name, kind=spec.kind, parent=province, valid_from=MERGER
        )
        branch_spec = DemoUnit(
            f"{spec.code}-CN",
            f"Chi nhánh Trung tâm Phục vụ hành chính công tại {spec.name[0].lower()}"
            f"{spec.name[1:]}",
            "branch",
            spec.level,
            spec.trend,
            spec.weight,
            place.branch_desks,
        )
        branch = Unit(
            code=branch_spec.code,
            name=branch_spec.name,
            kind="branch",
            parent=unit,
            branch_of=center,
            valid_from=MERGER,
        )
        session.add_all([unit, branch])
        new_desks.extend(
            (Desk(code=c, name=n, unit=branch), branch_spec) for c, n in place.branch_desks
        )
        for point_code, point_name, desks in place.reception_points:
            point = Unit(
                code=point_code,
                name=point_name,
                kind="reception_point",
                parent=branch,
                valid_from=MERGER,
            )
            session.add(point)
            point_spec = DemoUnit(
                point_code,
                point_name,
                "reception_point",
                spec.level - 0.1,
                spec.trend,
                spec.weight / 4,
                desks,
            )
            new_desks.extend((Desk(code=c, name=n, unit=point), point_spec) for c, n in desks)
    session.add_all(desk for desk, _spec in (*center_desks, *old_desks, *new_desks))
    services = [Service(code=code, name=name) for code, name in SERVICES]
    session.add_all(services)
    session.flush()

    version = current_version(session, "sipas-service")
    elements = {
        code: node.code for node in version.questionnaire.index.walk() for code in node.items
    }
    specs = {spec.code: spec for _desk, spec in (*center_desks, *old_desks, *new_desks)}
    # Each unit has its own strong and weak criteria: that is what the drivers view finds.
    item_effect = {(code, item): rng.gauss(0, 0.25) for code in sorted(specs) for item in elements}
    before = round(responses * HISTORY_SHARE) if now > merger_at else responses
    maker = _Maker(session, rng, version, elements, item_effect, services)
    maker.make(before, [*center_desks, *old_desks], history_start, min(merger_at, now))
    if now > merger_at:
        maker.make(responses - before, [*center_desks, *new_desks], merger_at, now)

    # The merger, recorded as data (the old units end; their desks close).
    tree = accounts.UnitTree.load(session)
    by_code = tree.by_code
    unit_history.merge(
        session, tree, [quang_loi], by_code["QN-DH-QTAN"], QUANG_LOI[2], basis=QUANG_LOI[3]
    )
    for new_code, old_codes in MERGES.items():
        unit_history.merge(
            session,
            tree,
            [by_code[c] for c in old_codes],
            by_code[new_code],
            MERGER,
            basis=MERGER_BASIS,
        )
    unit_history.merge(
        session,
        tree,
        [by_code[OLD_CENTER.code]],
        by_code["QN-DAMHA-CN"],
        MERGER,
        basis="Nghị định 118/2025/NĐ-CP",
        note="Trụ sở Trung tâm Hành chính công huyện nay là chi nhánh tại xã Đầm Hà.",
    )
    unit_history.split(
        session,
        tree,
        district,
        [by_code[c] for c in MERGES],
        MERGER,
        basis=MERGER_BASIS,
        note="Không còn cấp huyện từ 1/7/2025.",
    )
    officers = _add_officers(session)
    targets = _add_targets(session, province, max(PLAN_YEAR, now.astimezone(LOCAL).year))
    units = len(tree.units)
    desk_count = len(center_desks) + len(old_desks) + len(new_desks)
    return (
        f"{units} units ({len(PLACES)} communes, wards and special zones of today; the former "
        f"Đầm Hà district merged on {MERGER:%d/%m/%Y}), {desk_count} desks, "
        f"{len(services)} services, "
        f"{responses} responses, {officers} officers, {targets} targets"
    )


class _Maker:
    """Makes synthetic responses at desks between two moments (through intake, like any)."""

    def __init__(
        self,
        session: Session,
        rng: random.Random,
        version: PublishedVersion,
        elements: dict[str, str],
        item_effect: dict[tuple[str, str], float],
        services: list[Service],
    ) -> None:
        self.session, self.rng, self.version = session, rng, version
        self.elements, self.item_effect, self.services = elements, item_effect, services

    def make(
        self, count: int, desks: list[tuple[Desk, DemoUnit]], start: datetime, end: datetime
    ) -> None:
        rng, elements = self.rng, self.elements
        weights = [spec.weight / len(spec.desks) for _desk, spec in desks]
        for _ in range(count):
            desk, spec = rng.choices(desks, weights)[0]
            when = _office_time(rng, start, end)
            share = (when - start) / (end - start)
            person = spec.level + spec.trend * (share - 0.5) + rng.gauss(0, 0.55)
            raw: dict[str, object] = {}
            for item, element in elements.items():
                if rng.random() < NOT_APPLICABLE.get(element, 0.03):
                    raw[item] = 0
                    continue
                latent = person + ELEMENT_EFFECT[element] + self.item_effect[(spec.code, item)]
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
            # Most take about a minute; a few race through (the "too_fast" flag's reason).
            duration = (
                rng.randint(3, 9) if rng.random() < 0.015 else int(math.exp(rng.gauss(4.2, 0.45)))
            )
            intake.store(
                intake.InSession(self.session, desk, submitted_at=when),
                intake.Received(
                    uuid=uuid.UUID(int=rng.getrandbits(128), version=4),
                    checked=intake.check(self.version, raw),
                    channel="qr" if rng.random() < 0.85 else "web",
                    circumstances=Circumstances(duration, DEMO_MIN_SECONDS),
                    service=rng.choice(self.services) if rng.random() < 0.4 else None,
                ),
            )


#: One officer per role, with fixed demo passwords that `sipas welcome` prints.
DEMO_OFFICERS = (
    ("admin", "sipas-admin-2026", "admin", None, "Quản trị hệ thống"),
    ("damha", "sipas-damha-2026", "officer", "QN-DAMHA", "Văn phòng HĐND và UBND xã Đầm Hà"),
    ("quangtan", "sipas-quangtan-2026", "officer", "QN-QUANGTAN", "Văn phòng UBND xã Quảng Tân"),
    ("xem", "sipas-xem-2026", "viewer", "QN-DAMHA", "Lãnh đạo UBND xã Đầm Hà (chỉ xem)"),
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


#: The province's index plan (Kế hoạch cải cách hành chính năm 2026).
PLAN_YEAR = 2026


def _add_targets(session: Session, province: Unit, year: int) -> int:
    """The province's plan: SIPAS ≥ 85 and PA ≥ 75 for the province and each of today's
    communes, wards and special zones."""
    units = [
        province,
        *session.scalars(
            select(Unit).where(
                Unit.parent_id == province.id,
                Unit.valid_to.is_(None),
                Unit.kind.in_(("commune", "ward", "special_zone")),
            )
        ),
    ]
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
