"""The help center's pages: /help (categories, popular articles, search box), /help/search and
/help/{slug} with "was this helpful?" votes (HTMX, or a plain form without JavaScript).

Votes: one per signed-in user, or per anonymous browser (a random HttpOnly cookie whose hash is
the voter)."""

from __future__ import annotations

import dataclasses
import secrets
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse
from starlette.responses import Response

from qianbao.kernel.hant import zh_text
from qianbao.kernel.http import TxRoute, db_session
from qianbao.support.channels import details
from qianbao.support.helpcenter import search, service
from qianbao.support.helpcenter.render import fill, to_html
from qianbao.web.routes.account_common import current_caller, form_values, redirect
from qianbao.web.routes.public import ONE_YEAR
from qianbao.web.templating import locale_of, render

router = APIRouter(include_in_schema=False, route_class=TxRoute)
VOTER_COOKIE = "qb_help_voter"


def _name(category: Any, locale: str) -> str:
    return str(category.name_en if locale == "en" else zh_text(category.name_zh, locale))


async def _voter(request: Request) -> str | None:
    caller = await current_caller(request)
    if caller is not None:
        return service.voter_for_user(caller.user.id)
    token = request.cookies.get(VOTER_COOKIE)
    return service.voter_for_cookie(token) if token and len(token) <= 64 else None


@router.get("/help", response_class=HTMLResponse)
async def help_home(request: Request) -> Response:
    s, locale = db_session(request), locale_of(request)
    sections = [
        {
            "slug": sec.category.slug,
            "name": _name(sec.category, locale),
            "articles": [{"slug": a.slug, "title": a.title(locale)} for a in sec.articles],
        }
        for sec in await service.sections(s)
    ]
    popular = [{"slug": a.slug, "title": a.title(locale)} for a in await service.popular(s, 5)]
    return render(request, "help/home.html", {"sections": sections, "popular": popular, "q": ""})


@router.get("/help/search", response_class=HTMLResponse)
async def help_search(request: Request, q: str = "") -> Response:
    q = q.strip()[:200]
    if not q:
        return redirect("/help")
    locale = locale_of(request)
    values = details.contact_values(request.app.state.settings.support, locale)
    hits = [
        dataclasses.replace(h, snippet=fill(h.snippet, values))
        for h in await search(db_session(request), q, locale, 10)
    ]
    return render(request, "help/search.html", {"q": q, "hits": hits})


async def _article_context(request: Request, slug: str, voted: bool | None = None) -> dict:
    s, locale = db_session(request), locale_of(request)
    article = await service.published(s, slug)
    category = await service.category_of(s, article)
    if voted is None:
        voted = await service.vote_of(s, article, await _voter(request))
    return {
        "article": {
            "slug": article.slug,
            "title": article.title(locale),
            "html": to_html(
                article.body(locale),
                details.contact_values(request.app.state.settings.support, locale),
            ),
            "updated_at": article.updated_at,
            "yes": article.helpful_yes,
            "no": article.helpful_no,
        },
        "category": {"slug": category.slug, "name": _name(category, locale)},
        "related": [
            {"slug": a.slug, "title": a.title(locale)} for a in await service.related(s, article)
        ],
        "voted": voted,
        "q": "",
    }


@router.get("/help/{slug}", response_class=HTMLResponse)
async def help_article(request: Request, slug: str) -> Response:
    return render(request, "help/article.html", await _article_context(request, slug))


@router.post("/help/{slug}/vote", response_class=HTMLResponse)
async def help_vote(request: Request, slug: str) -> Response:
    form = await form_values(request)
    helpful = form.get("helpful") == "yes"
    new_cookie = None
    voter = await _voter(request)
    if voter is None:
        new_cookie = secrets.token_urlsafe(24)
        voter = service.voter_for_cookie(new_cookie)
    await service.vote(db_session(request), slug, voter=voter, helpful=helpful)
    if request.headers.get("hx-request") == "true":
        context = await _article_context(request, slug, voted=helpful)
        response = render(request, "help/article.html", context, block="vote")
    else:
        response = redirect(f"/help/{slug}", anchor="vote")
    if new_cookie is not None:
        response.set_cookie(
            VOTER_COOKIE,
            new_cookie,
            max_age=ONE_YEAR,
            path="/help",
            httponly=True,
            samesite="lax",
            secure=bool(request.app.state.settings.http.https),
        )
    return response
