"""The merchant application page (F1): a business gives its names, category, Unified Social
Credit Code and settlement account, and its first staff member's sign-in (a mobile number
confirmed by the sign-up SMS code, and a password). The merchant waits for an operator's review
in the console (/console/merchants). Pages call the services, never SQL."""

from __future__ import annotations

import re
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse
from starlette.responses import Response

from qianbao.identity import accounts
from qianbao.identity.deps import identity_ctx
from qianbao.identity.errors import CodeCooldown, CodeInvalid, CodeSendLimit, PhoneTaken
from qianbao.identity.passwords import check_password, hash_password
from qianbao.identity.phones import mask_phone, normalize_phone
from qianbao.kernel.errors import DomainError
from qianbao.kernel.http import TxRoute, db_session
from qianbao.merchants import onboarding, review
from qianbao.merchants.categories import CATEGORIES
from qianbao.web.i18n import gettext
from qianbao.web.problems import domain_problem
from qianbao.web.routes.account_common import (
    client_ip,
    code_step,
    form_error,
    form_values,
    phone_region,
    redirect,
)
from qianbao.web.templating import locale_of, render

router = APIRouter(include_in_schema=False, route_class=TxRoute)

PAGE = "merchant_apply/apply.html"
DONE = "merchant_apply/done.html"
# What the form sends back when it is shown again (never the passwords).
KEPT = (
    "name_zh",
    "name_en",
    "category",
    "uscc",
    "settlement_number",
    "settlement_holder",
    "website",
    "contact_name",
    "phone",
    "code",
)
REFERENCE_RE = re.compile(f"[{onboarding.CODE_ALPHABET}]{{8}}")


def _categories(locale: str) -> list[tuple[str, str]]:
    """The categories in the reader's language, sorted by their translated name."""
    named = [(code, gettext(locale, name)) for code, name in CATEGORIES.items()]
    return sorted(named, key=lambda item: item[1])


def _context(request: Request, values: dict[str, str], **extra: Any) -> dict[str, Any]:
    return {
        "values": {key: values.get(key, "").strip() for key in KEPT},
        "categories": _categories(locale_of(request)),
        **extra,
    }


def _application(values: dict[str, str]) -> onboarding.Application:
    return onboarding.Application(
        name_zh=values.get("name_zh", ""),
        name_en=values.get("name_en", ""),
        category=values.get("category", ""),
        uscc=values.get("uscc", ""),
        settlement_number=values.get("settlement_number", ""),
        settlement_holder=values.get("settlement_holder", ""),
        website=values.get("website") or None,
    )


@router.get("/merchant/apply", response_class=HTMLResponse)
async def apply_page(request: Request) -> Response:
    return render(request, PAGE, _context(request, {}))


@router.post("/merchant/apply/code", response_class=HTMLResponse)
async def apply_code(request: Request) -> Response:
    """Send the sign-up SMS code to the applicant's number, exactly as the sign-up page does. With
    HTMX only the applicant's block is answered (the rest of the form stays as typed); without
    JavaScript the whole form comes back with everything but the passwords."""
    values = await form_values(request)
    block = "applicant" if request.headers.get("hx-request") else None
    phone = values.get("phone", "").strip()
    context = _context(request, values)
    settings = request.app.state.settings.identity
    try:
        normalized = await accounts.request_sign_up_code(
            db_session(request),
            identity_ctx(request),
            phone_raw=phone,
            ip=client_ip(request),
            locale=locale_of(request),
        )
    except (CodeCooldown, CodeSendLimit) as exc:
        # Asked again too soon or too often: the code sent earlier still works (as on /signup).
        normalized = normalize_phone(phone, phone_region(request))
        earlier = await code_step(request, destination=normalized, purpose="sign_up")
        if earlier is not None:
            context.update(sent_to=mask_phone(normalized), earlier=True, **earlier)
            if isinstance(exc, CodeCooldown):
                return render(request, PAGE, context, block=block)
        return _code_refused(request, exc, context, block)
    except DomainError as exc:
        return _code_refused(request, exc, context, block)
    context.update(
        sent_to=mask_phone(normalized),
        minutes=max(1, int(settings.otp_ttl_s) // 60),
        sent=True,
        resend_in=int(settings.otp_resend_cooldown_s),
    )
    return render(request, PAGE, context, block=block)


def _code_refused(
    request: Request, exc: DomainError, context: dict[str, Any], block: str | None
) -> Response:
    """The refusal inside the applicant's block: for HTMX with status 200 (HTMX swaps in only
    successful answers; the message is in it), else the whole page with the refusal's status."""
    problem = domain_problem(exc, locale_of(request))
    return render(
        request,
        PAGE,
        {**context, "code_problem": problem},
        status_code=200 if block else problem.status,
        block=block,
    )


@router.post("/merchant/apply", response_class=HTMLResponse)
async def apply_submit(request: Request) -> Response:
    values = await form_values(request)
    password = values.get("password", "")
    context = _context(request, values)
    app = _application(values)
    try:
        # Everything that needs no database first, then the slow hash — before this request
        # touches the database, so no pooled connection waits on it (as sign-in does).
        review.check_application(app)
        phone = normalize_phone(values.get("phone", ""), phone_region(request))
        context["sent_to"] = mask_phone(phone)
        name = values.get("contact_name", "").strip()[:100] or None
        check_password(password, confirm=values.get("password_confirm", ""), phone=phone, name=name)
        password_hash = await hash_password(password)
        merchant, _user = await onboarding.apply(
            db_session(request),
            identity_ctx(request),
            app,
            phone_raw=phone,
            code=values.get("code", "").strip(),
            contact_name=name or "",
            password=password,
            password_hash=password_hash,
        )
    except DomainError as exc:
        if isinstance(exc, CodeInvalid | PhoneTaken):
            context["phone_hint"] = True
        return form_error(request, exc, PAGE, context)
    return redirect(f"/merchant/apply/done?ref={merchant.code}")


@router.get("/merchant/apply/done", response_class=HTMLResponse)
async def apply_done(request: Request, ref: str = "") -> Response:
    reference = ref if REFERENCE_RE.fullmatch(ref or "") else None
    return render(request, DONE, {"reference": reference})


# A language switch on a page that answered a POST comes back with GET: send it to the form.
@router.get("/merchant/apply/code")
async def apply_code_get() -> Response:
    return redirect("/merchant/apply")
