"""Signing officers in and out, sessions that expire, throttled failures, and role checks."""

from __future__ import annotations

import time
from collections.abc import Callable
from functools import wraps
from typing import Any, TypeVar, cast

from flask import (
    Blueprint,
    Response,
    current_app,
    flash,
    g,
    redirect,
    render_template,
    request,
    session,
    url_for,
)
from flask.typing import ResponseReturnValue
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import LoginManager, current_user, login_user, logout_user
from flask_wtf import FlaskForm
from sqlalchemy import select
from wtforms import PasswordField, StringField
from wtforms.validators import DataRequired, Length

from ..db import get_session
from ..errors import error_page, friendly_abort, wants_json
from ..models import Officer, utcnow
from ..security import throttle
from ..security.redirects import safe_next
from ..services import accounts
from . import bp

login_manager = LoginManager()
login_manager.login_view = "officer.sign_in"
# A cookie taken to another browser or address is not a session there.
login_manager.session_protection = "strong"

#: Endpoints of the blueprint reachable without signing in.
PUBLIC_ENDPOINTS = {"officer.sign_in", "officer.sign_in_post"}
SEEN_KEY, SINCE_KEY = "officer_seen", "officer_since"

F = TypeVar("F", bound=Callable[..., Any])


@bp.record_once
def _setup(state: Any) -> None:
    login_manager.init_app(state.app)


@login_manager.user_loader
def _load_officer(user_id: str) -> Officer | None:
    officer_id, _, version = user_id.partition(".")
    if not officer_id.isdigit() or not version.isdigit():
        return None
    officer = get_session().get(Officer, int(officer_id))
    if officer is None or not officer.active or officer.session_version != int(version):
        return None
    return officer


@login_manager.unauthorized_handler
def _unauthorized() -> ResponseReturnValue:
    if wants_json():
        friendly_abort(401, _("Cần đăng nhập"), _("Vui lòng đăng nhập để tiếp tục."))
    return redirect(url_for("officer.sign_in", next=safe_next(request.full_path)))


def current_officer() -> Officer:
    """The signed-in officer (every view but sign-in runs after the check below)."""
    return cast(Officer, current_user._get_current_object())  # type: ignore[attr-defined]


@bp.before_request
def _require_sign_in() -> ResponseReturnValue | None:
    if request.endpoint in PUBLIC_ENDPOINTS:
        return None
    if not current_user.is_authenticated:
        return login_manager.unauthorized()
    now = time.time()
    idle = current_app.config["OFFICER_IDLE_MINUTES"] * 60
    longest = current_app.config["OFFICER_SESSION_HOURS"] * 3600
    seen, since = session.get(SEEN_KEY, 0), session.get(SINCE_KEY, 0)
    if now - seen > idle or now - since > longest:
        logout_user()
        session.pop(SEEN_KEY, None)
        session.pop(SINCE_KEY, None)
        flash(_("Phiên làm việc đã hết hạn. Vui lòng đăng nhập lại."), "notice")
        return redirect(url_for("officer.sign_in", next=safe_next(request.full_path)))
    session[SEEN_KEY] = now
    return None


@bp.after_request
def _private(response: Response) -> Response:
    # Officer pages hold unit data: never cached by a shared cache or kept by the browser.
    response.headers["Cache-Control"] = "no-store"
    response.vary.add("Cookie")
    return response


def require_edit(view: F) -> F:
    """Administrators and unit officers only: viewers are read-only."""

    @wraps(view)
    def wrapped(*args: Any, **kwargs: Any) -> Any:
        if not current_officer().can_edit:
            _deny("edit")
        return view(*args, **kwargs)

    return cast(F, wrapped)


def require_admin(view: F) -> F:
    @wraps(view)
    def wrapped(*args: Any, **kwargs: Any) -> Any:
        if not current_officer().is_admin:
            _deny("admin")
        return view(*args, **kwargs)

    return cast(F, wrapped)


def _deny(needed: str) -> None:
    session_ = get_session()
    accounts.record(
        session_,
        "access_denied",
        officer=current_officer(),
        target=request.path[:200],
        needed=needed,
    )
    session_.commit()
    friendly_abort(
        403,
        _("Không có quyền thực hiện"),
        _("Tài khoản của Ông/Bà không được phép thực hiện thao tác này."),
    )


# -- sign in and out ---------------------------------------------------------------------------


class SignInForm(FlaskForm):
    username = StringField(
        _l("Tên đăng nhập"),
        validators=[DataRequired(_l("Vui lòng nhập tên đăng nhập.")), Length(max=64)],
    )
    password = PasswordField(
        _l("Mật khẩu"), validators=[DataRequired(_l("Vui lòng nhập mật khẩu.")), Length(max=200)]
    )


def _home() -> str:
    return url_for("officer.home")


@bp.get("/sign-in")
def sign_in() -> ResponseReturnValue:
    if current_user.is_authenticated:
        return redirect(_home())
    next_ = safe_next(request.args.get("next"))
    return render_template("officer/sign_in.html", form=SignInForm(), next=next_)


@bp.post("/sign-in")
def sign_in_post() -> ResponseReturnValue:
    form = SignInForm()
    target = safe_next(request.args.get("next") or request.form.get("next"))
    if not form.validate_on_submit():
        return render_template("officer/sign_in.html", form=form, next=target), 400
    db = get_session()
    username = accounts.normalise_username(form.username.data)
    secret = current_app.config["SECRET_KEY"]
    cookie_name = throttle.device_cookie_name(current_app.config["SESSION_COOKIE_SECURE"])
    known = throttle.read_device(secret, request.cookies.get(cookie_name))
    counters = throttle.limits(
        username,
        request.remote_addr or "",
        known.get(username),
        current_app.config["SIGN_IN_MAX_FAILURES"],
    )
    verdict = throttle.count_attempt(db, counters, current_app.config["SIGN_IN_WINDOW_SECONDS"])
    if not verdict.allowed:
        accounts.record(db, "sign_in_throttled", actor=username, target=username)
        db.commit()
        response = error_page(
            429,
            _("Tạm khóa đăng nhập"),
            _(
                "Đã nhập sai quá nhiều lần. Vui lòng thử lại sau %(minutes)d phút.",
                minutes=-(-verdict.retry_after // 60),
            ),
        )
        response.headers["Retry-After"] = str(verdict.retry_after)
        return response
    officer = db.scalar(select(Officer).where(Officer.username == username))
    if officer is not None and not officer.active:
        officer = None
    if not accounts.check_password(officer, form.password.data):
        accounts.record(db, "sign_in_failed", actor=username, target=username)
        db.commit()
        form.password.errors = [_("Tên đăng nhập hoặc mật khẩu không đúng.")]
        return render_template("officer/sign_in.html", form=form, next=target), 401
    assert officer is not None
    officer.last_sign_in_at = utcnow()
    accounts.record(db, "sign_in", officer=officer, target=officer.username)
    # The address counter is kept: one valid account must not reset guesses at others.
    throttle.clear(
        db,
        [key for key in counters if not key.startswith("addr:")],
        current_app.config["SIGN_IN_WINDOW_SECONDS"],
    )
    db.commit()
    for key in ("_flashes", SEEN_KEY, SINCE_KEY):
        session.pop(key, None)
    login_user(officer)
    now = time.time()
    session[SEEN_KEY] = session[SINCE_KEY] = now
    answer = redirect(target or _home())
    answer.set_cookie(
        cookie_name,
        throttle.remember_device(secret, known, username),
        max_age=throttle.DEVICE_COOKIE_DAYS * 86400,
        path="/",
        secure=current_app.config["SESSION_COOKIE_SECURE"],
        httponly=True,
        samesite="Lax",
    )
    return answer


@bp.post("/sign-out")
def sign_out() -> ResponseReturnValue:
    db = get_session()
    officer = current_officer()
    # A copy of the cookie kept from before must not stay signed in: this ends the officer's
    # sessions on the server, on every device (README "Security").
    accounts.end_sessions(officer)
    accounts.record(db, "sign_out", officer=officer, target=officer.username)
    db.commit()
    logout_user()
    session.pop(SEEN_KEY, None)
    session.pop(SINCE_KEY, None)
    g.pop("scope", None)
    flash(_("Ông/Bà đã đăng xuất."), "notice")
    return redirect(url_for("officer.sign_in"))


def guard(blueprint: Blueprint) -> None:
    """Put another officer-facing blueprint (the reports) behind the same sign-in and session
    expiry, with the same no-store caching, without it reaching into this module's internals."""
    blueprint.before_request(_require_sign_in)
    blueprint.after_request(_private)
