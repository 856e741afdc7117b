"""The agent console, first piece: help-center articles (list, create, edit with preview,
publish and unpublish) for staff — support agents, supervisors and admins with two-step
verification on. Every change is recorded with who made it and when."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse
from starlette.responses import Response

from qianbao.identity.accounts import by_id
from qianbao.identity.deps import Caller
from qianbao.identity.errors import Forbidden
from qianbao.identity.models import STAFF_ROLES
from qianbao.kernel.errors import DomainError
from qianbao.kernel.http import TxRoute, db_session
from qianbao.kernel.i18n import N_
from qianbao.support.channels import details
from qianbao.support.helpcenter import service
from qianbao.support.helpcenter.render import to_html
from qianbao.web.i18n import gettext
from qianbao.web.problems import domain_problem
from qianbao.web.routes.account_common import (
    current_caller,
    ensure_ready,
    login_redirect,
    notice_of,
    redirect,
)
from qianbao.web.templating import locale_of, render

router = APIRouter(include_in_schema=False, route_class=TxRoute)
FIELDS = ("category", "title_zh", "title_en", "body_zh", "body_en", "keywords_zh", "keywords_en")
MAX_TEXT = 20_000
ACTIONS = {
    "seeded": N_("Shipped with Qianbao"),
    "created": N_("Created"),
    "updated": N_("Edited"),
    "published": N_("Published"),
    "unpublished": N_("Unpublished"),
}


async def _staff(request: Request) -> Caller | Response:
    caller = await current_caller(request)
    if caller is None:
        return login_redirect(request)
    ensure_ready(caller)  # staff without two-step verification are told to turn it on
    if caller.user.role not in STAFF_ROLES:
        raise Forbidden()
    return caller


async def _values(request: Request) -> dict[str, str]:
    """The posted article fields; the long texts keep their full length (up to the limit)."""
    form = await request.form(max_files=0, max_fields=20)
    values = {key: value[:MAX_TEXT] for key, value in form.items() if isinstance(value, str)}
    await form.close()
    return values


def _draft(values: dict[str, str]) -> service.ArticleDraft:
    try:
        position = int(values.get("position", "0") or 0)
    except ValueError:
        position = -1  # refused by the service with a clear message
    return service.ArticleDraft(
        **{name: values.get(name, "") for name in FIELDS}, position=position
    )


def _preview(values: dict[str, str], support: Any) -> list[dict[str, str]]:
    return [
        {
            "lang": "zh-CN",
            "title": values.get("title_zh", ""),
            "html": to_html(
                values.get("body_zh", ""),
                details.contact_values(support, "zh_CN"),
            ),
        },
        {
            "lang": "en",
            "title": values.get("title_en", ""),
            "html": to_html(
                values.get("body_en", ""),
                details.contact_values(support, "en"),
            ),
        },
    ]


async def _edit_page(
    request: Request,
    *,
    slug: str | None,
    values: dict[str, str],
    status: str = "draft",
    exc: DomainError | None = None,
    preview: bool = False,
    article: Any = None,
) -> Response:
    s, locale = db_session(request), locale_of(request)
    categories = [
        {"slug": c.slug, "name": c.name_en if locale == "en" else c.name_zh}
        for c in await service.categories(s)
    ]
    events = []
    if article is not None:
        for e in await service.history(s, article):
            who = "—"
            if e.actor_id is not None:
                user = await by_id(s, e.actor_id)
                who = user.real_name or str(user.id)[:8]
            events.append(
                {
                    "action": gettext(locale, ACTIONS.get(e.action, e.action)),
                    "at": e.created_at,
                    "who": who,
                }
            )
    problem = domain_problem(exc, locale) if exc else None
    return render(
        request,
        "console/help_edit.html",
        {
            "slug": slug,
            "status": status,
            "values": {"position": "0", **values},
            "categories": categories,
            "problem": problem,
            "preview": _preview(values, request.app.state.settings.support) if preview else None,
            "events": events,
            "notice": notice_of(request),
        },
        status_code=problem.status if problem else 200,
    )


@router.get("/console/help", response_class=HTMLResponse)
async def console_help(request: Request) -> Response:
    who = await _staff(request)
    if isinstance(who, Response):
        return who
    locale = locale_of(request)
    sections = [
        {
            "name": sec.category.name_en if locale == "en" else sec.category.name_zh,
            "articles": [
                {
                    "slug": a.slug,
                    "title": a.title(locale),
                    "status": a.status,
                    "updated_at": a.updated_at,
                    "yes": a.helpful_yes,
                    "no": a.helpful_no,
                }
                for a in sec.articles
            ],
        }
        for sec in await service.sections(db_session(request), published_only=False)
    ]
    return render(
        request, "console/help_list.html", {"sections": sections, "notice": notice_of(request)}
    )


@router.get("/console/help/new", response_class=HTMLResponse)
async def console_new(request: Request) -> Response:
    who = await _staff(request)
    if isinstance(who, Response):
        return who
    return await _edit_page(request, slug=None, values={})


@router.post("/console/help/new", response_class=HTMLResponse)
async def console_create(request: Request) -> Response:
    who = await _staff(request)
    if isinstance(who, Response):
        return who
    values = await _values(request)
    if values.get("action") == "preview":
        return await _edit_page(request, slug=None, values=values, preview=True)
    try:
        article = await service.create(
            db_session(request),
            slug=values.get("slug", "")[:80],
            draft=_draft(values),
            actor=who.user.id,
        )
    except DomainError as exc:
        return await _edit_page(request, slug=None, values=values, exc=exc)
    return redirect(f"/console/help/{article.slug}", notice="preferences_saved")


def _values_of(article: Any, category_slug: str) -> dict[str, str]:
    return {
        "category": category_slug,
        "title_zh": article.title_zh,
        "title_en": article.title_en,
        "body_zh": article.body_zh,
        "body_en": article.body_en,
        "keywords_zh": article.keywords_zh,
        "keywords_en": article.keywords_en,
        "position": str(article.position),
    }


@router.get("/console/help/{slug}", response_class=HTMLResponse)
async def console_edit(request: Request, slug: str) -> Response:
    who = await _staff(request)
    if isinstance(who, Response):
        return who
    s = db_session(request)
    article = await service.any_article(s, slug)
    category = await service.category_of(s, article)
    return await _edit_page(
        request,
        slug=article.slug,
        values=_values_of(article, category.slug),
        status=article.status,
        preview=True,
        article=article,
    )


@router.post("/console/help/{slug}", response_class=HTMLResponse)
async def console_save(request: Request, slug: str) -> Response:
    who = await _staff(request)
    if isinstance(who, Response):
        return who
    s = db_session(request)
    article = await service.any_article(s, slug)
    values = await _values(request)
    if values.get("action") == "preview":
        return await _edit_page(
            request,
            slug=article.slug,
            values=values,
            status=article.status,
            preview=True,
            article=article,
        )
    try:
        await service.update(s, article.slug, draft=_draft(values), actor=who.user.id)
    except DomainError as exc:
        return await _edit_page(
            request,
            slug=article.slug,
            values=values,
            status=article.status,
            exc=exc,
            article=article,
        )
    return redirect(f"/console/help/{article.slug}", notice="preferences_saved")


@router.post("/console/help/{slug}/{action}", response_class=HTMLResponse)
async def console_publish(request: Request, slug: str, action: str) -> Response:
    who = await _staff(request)
    if isinstance(who, Response):
        return who
    if action not in ("publish", "unpublish"):
        raise service.ArticleNotFound()
    article = await service.set_published(
        db_session(request), slug, published=action == "publish", actor=who.user.id
    )
    return redirect(f"/console/help/{article.slug}", notice="preferences_saved")
