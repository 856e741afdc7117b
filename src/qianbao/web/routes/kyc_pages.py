"""Identity verification pages for customers (A8): /me/verify shows my level, what each level
unlocks (the limits table) and my limits now, the tier 1 form (name, ID number, date of birth,
sex), then the three photos for tier 2 (one upload each, the phone's camera offered), the
submission and the state of my application with the reviewer's reason."""

from __future__ import annotations

from typing import Any

from babel.dates import format_date
from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse
from starlette.responses import Response

from qianbao.identity import kyc
from qianbao.identity.deps import Caller, identity_ctx
from qianbao.identity.kyc_errors import NotAnImage
from qianbao.identity.kyc_review import REASONS
from qianbao.identity.kyc_tiers import TierLimits
from qianbao.kernel.errors import DomainError
from qianbao.kernel.http import TxRoute, db_session
from qianbao.kernel.i18n import N_
from qianbao.kernel.text import from_typing, parse_day
from qianbao.web.formatting import format_money
from qianbao.web.i18n import gettext
from qianbao.web.problems import domain_problem
from qianbao.web.routes.account_common import (
    current_caller,
    form_values,
    login_redirect,
    redirect,
)
from qianbao.web.templating import locale_of, render

router = APIRouter(include_in_schema=False, route_class=TxRoute)
PAGE = "/me/verify"
NOTICES = {
    "verified": N_("Your name and ID card number are verified: level 1 limits apply now."),
    "uploaded": N_("The photo is uploaded."),
    "submitted": N_(
        "Your photos are sent for review. We usually answer within one business day and tell "
        "you by SMS."
    ),
}
CHANNELS = {
    "topup": N_("Top-up"),
    "transfer": N_("Transfer"),
    "withdrawal": N_("Withdrawal"),
    "payment": N_("Payment"),
    "exchange": N_("Exchange"),
}
TIER_NAMES = {0: N_("Basic"), 1: N_("Level 1"), 2: N_("Level 2")}
TIER_TEXTS = {
    0: N_("Not verified yet: basic limits."),
    1: N_("Name and ID card number verified."),
    2: N_("Identity fully verified, with documents."),
}
STATUS_TEXTS = {
    "draft": N_("Not sent yet"),
    "submitted": N_("Being reviewed"),
    "resubmit": N_("A new photo is needed"),
    "approved": N_("Approved"),
    "rejected": N_("Not approved"),
}
HINTS = {
    "id_front": N_("The side with your photo: the whole card, flat, in good light, no glare."),
    "id_back": N_("The side with the national emblem and the validity dates."),
    "selfie": N_("Your face and the card's photo side, both clearly visible."),
}
# The field of the tier 1 form a refusal is about (the page shows it under that field).
FIELD_OF_ERROR = {
    "kyc.name_invalid": "real_name",
    "kyc.id_invalid": "id_number",
    "kyc.id_in_use": "id_number",
    "kyc.birthday_invalid": "birthday",
    "kyc.birthday_mismatch": "birthday",
    "kyc.too_young": "birthday",
    "kyc.sex_invalid": "sex",
    "kyc.sex_mismatch": "sex",
}
BASIC_FIELDS = ("real_name", "id_number", "birthday", "sex")


def _amount(minor: int, currency: str, locale: str) -> str:
    """'¥10,000' for a whole amount (a table of limits reads better without '.00')."""
    text = format_money(minor, currency, locale)
    return text.removesuffix(".00")


def _tables(tiers: list[TierLimits], tier: int, locale: str) -> dict[str, Any]:
    """Each channel's daily amount per tier, and the user's own tier's limits in full."""
    channels = [c.channel for c in tiers[0].channels] if tiers else []
    for t in tiers[1:]:
        channels += [c.channel for c in t.channels if c.channel not in channels]
    rows = []
    for channel in channels:
        cells = []
        for t in tiers:
            found = t.of(channel)
            cells.append(_amount(found.daily_max, t.currency, locale) if found else "—")
        rows.append({"channel": channel, "label": gettext(locale, CHANNELS.get(channel, channel)),
                     "cells": cells})  # fmt: skip
    mine = next((t for t in tiers if t.tier == tier), None)
    own = []
    if mine is not None:
        own = [
            {
                "channel": c.channel,
                "label": gettext(locale, CHANNELS.get(c.channel, c.channel)),
                "single": _amount(c.single_max, mine.currency, locale),
                "daily": _amount(c.daily_max, mine.currency, locale),
                "monthly": _amount(c.monthly_max, mine.currency, locale),
            }
            for c in mine.channels
        ]
    return {"tier_rows": rows, "tier_columns": [t.tier for t in tiers], "own_limits": own}


async def _page(
    request: Request,
    caller: Caller,
    *,
    exc: DomainError | None = None,
    values: dict[str, str] | None = None,
    about: str | None = None,
) -> Response:
    """``about``: the section a refusal belongs to (``basic`` or a document kind, ``submit``)."""
    s, locale = db_session(request), locale_of(request)
    state = await kyc.status(s, caller.user)
    problem = domain_problem(exc, locale) if exc else None
    app = state.application
    reason = None
    if app is not None and app.status in ("rejected", "resubmit") and app.reason_code in REASONS:
        reason = gettext(locale, REASONS[app.reason_code])
    return render(
        request,
        "account/verify.html",
        {
            "state": state,
            "tier": state.tier,
            "tier_names": {k: gettext(locale, v) for k, v in TIER_NAMES.items()},
            "tier_text": gettext(locale, TIER_TEXTS[min(state.tier, 2)]),
            "step": state.next_step,
            "identity": state.identity,
            "birthday": format_date(state.identity.birthday, "long", locale=locale)
            if state.identity
            else "",
            "app": app,
            "status_text": gettext(locale, STATUS_TEXTS[app.status]) if app else None,
            "reason": reason,
            "documents": [
                {
                    "kind": kind,
                    "name": gettext(locale, kyc.DOCUMENT_NAMES[kind]),
                    "hint": gettext(locale, HINTS[kind]),
                    "doc": state.documents.get(kind),
                    "asked": app is not None
                    and app.status == "resubmit"
                    and app.resubmit_kind == kind,
                }
                for kind in kyc.DOCUMENT_KINDS
            ],
            "resubmit_name": gettext(locale, kyc.DOCUMENT_NAMES[app.resubmit_kind])
            if app is not None and app.resubmit_kind
            else None,
            **_tables(await kyc.tier_limits(s), state.tier, locale),
            "problem": problem,
            "about": about,
            "field": FIELD_OF_ERROR.get(exc.code) if exc else None,
            "values": values or {"real_name": caller.user.real_name or ""},
            "notice": gettext(locale, NOTICES[key])
            if (key := request.query_params.get("notice", "")) in NOTICES
            else None,
            "max_mb": max(1, request.app.state.settings.kyc.max_upload_bytes // (1024 * 1024)),
        },
        status_code=problem.status if problem else 200,
    )


@router.get(PAGE, response_class=HTMLResponse)
async def verify_page(request: Request) -> Response:
    caller = await current_caller(request)
    if caller is None:
        return login_redirect(request)
    return await _page(request, caller)


@router.post(f"{PAGE}/basic", response_class=HTMLResponse)
async def verify_basic(request: Request) -> Response:
    caller = await current_caller(request)
    if caller is None:
        return login_redirect(request)
    form = await form_values(request)
    values = {name: form.get(name, "")[:100] for name in BASIC_FIELDS}
    # What an input method types (full-width digits and x) is read as ASCII; the API is strict.
    number = from_typing(values["id_number"]).replace("ｘ", "x").replace("Ｘ", "X")
    day = parse_day(values["birthday"])
    try:
        await kyc.verify_basic(
            db_session(request),
            identity_ctx(request),
            caller.user,
            real_name=values["real_name"],
            id_number=number,
            birthday=day.isoformat() if day else values["birthday"],
            sex=values["sex"],
        )
    except DomainError as exc:
        return await _page(request, caller, exc=exc, values=values, about="basic")
    return redirect(PAGE, notice="verified", anchor="documents")


@router.post(PAGE + "/documents/{kind}", response_class=HTMLResponse)
async def verify_upload(request: Request, kind: str) -> Response:
    caller = await current_caller(request)
    if caller is None:
        return login_redirect(request)
    form = await request.form(max_files=1, max_fields=5)
    try:
        upload = form.get("file")
        if upload is None or isinstance(upload, str) or not upload.filename:
            raise NotAnImage()
        await kyc.upload(db_session(request), identity_ctx(request), caller.user, kind, upload)
    except DomainError as exc:
        return await _page(request, caller, exc=exc, about=kind)
    finally:
        await form.close()
    return redirect(PAGE, notice="uploaded", anchor=f"doc-{kind}")


@router.post(PAGE + "/submit", response_class=HTMLResponse)
async def verify_submit(request: Request) -> Response:
    caller = await current_caller(request)
    if caller is None:
        return login_redirect(request)
    try:
        await kyc.submit(db_session(request), caller.user)
    except DomainError as exc:
        return await _page(request, caller, exc=exc, about="submit")
    return redirect(PAGE, notice="submitted", anchor="documents")
