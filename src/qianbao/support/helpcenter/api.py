"""The help-center JSON API under /api/v1/help: public search and articles, votes of signed-in
users, and staff editing (support agents, supervisors, admins with two-step verification)."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query, Request

from qianbao.identity.deps import Caller, require_ready_caller
from qianbao.identity.models import STAFF_ROLES
from qianbao.kernel.hant import zh_text
from qianbao.kernel.http import TxRoute, db_session_dep, locale_of
from qianbao.kernel.translations import LOCALES
from qianbao.support.channels import details
from qianbao.support.helpcenter import service
from qianbao.support.helpcenter.errors import StaffOnly
from qianbao.support.helpcenter.models import HelpArticle
from qianbao.support.helpcenter.ranking import search
from qianbao.support.helpcenter.render import fill, to_html
from qianbao.support.helpcenter.schemas import (
    ArticleCreate,
    ArticleIn,
    ArticleOut,
    CategoryOut,
    HitOut,
    Locale,
    SearchOut,
    StaffArticleOut,
    VoteIn,
    VoteOut,
)

router = APIRouter(prefix="/api/v1/help", tags=["help center"], route_class=TxRoute)
DbSession = Annotated[Any, Depends(db_session_dep)]
Me = Annotated[Caller, Depends(require_ready_caller)]


def _locale(request: Request, asked: str | None) -> str:
    return asked if asked in LOCALES else locale_of(request)


def require_staff(caller: Caller) -> Caller:
    if caller.user.role not in STAFF_ROLES:
        raise StaffOnly()
    return caller


def _staff_out(a: HelpArticle, category: str) -> StaffArticleOut:
    return StaffArticleOut(
        slug=a.slug,
        status=a.status,
        category=category,
        title_zh=a.title_zh,
        title_en=a.title_en,
        body_zh=a.body_zh,
        body_en=a.body_en,
        keywords_zh=a.keywords_zh,
        keywords_en=a.keywords_en,
        position=a.position,
        updated_at=a.updated_at,
        updated_by=str(a.updated_by) if a.updated_by else None,
        published_at=a.published_at,
        helpful_yes=a.helpful_yes,
        helpful_no=a.helpful_no,
    )


def _draft(body: ArticleIn) -> service.ArticleDraft:
    return service.ArticleDraft(**body.model_dump())


@router.get("/categories", response_model=list[CategoryOut], summary="Help categories")
async def categories(
    request: Request, s: DbSession, locale: Locale | None = None
) -> list[CategoryOut]:
    loc = _locale(request, locale)
    return [
        CategoryOut(slug=c.slug, name=c.name_en if loc == "en" else zh_text(c.name_zh, loc))
        for c in await service.categories(s)
    ]


@router.get("/search", response_model=SearchOut, summary="Search the published articles")
async def search_articles(
    request: Request,
    s: DbSession,
    q: Annotated[str, Query(max_length=200, description="A question in Chinese or English")],
    locale: Locale | None = None,
    limit: Annotated[int, Query(ge=1, le=50)] = 10,
) -> SearchOut:
    loc = _locale(request, locale)
    hits = await search(s, q, loc, limit)
    values = details.contact_values(request.app.state.settings.support, loc)
    return SearchOut(
        query=q,
        locale=loc,
        hits=[
            HitOut(
                slug=h.article.slug,
                title=h.article.title,
                category=h.article.category,
                url=h.article.url,
                score=h.score,
                snippet=fill(h.snippet, values),
            )
            for h in hits
        ],
    )


@router.get("/articles/{slug}", response_model=ArticleOut, summary="A published article")
async def article(
    slug: str, request: Request, s: DbSession, locale: Locale | None = None
) -> ArticleOut:
    loc = _locale(request, locale)
    a = await service.published(s, slug)
    category = await service.category_of(s, a)
    values = details.contact_values(request.app.state.settings.support, loc)
    return ArticleOut(
        slug=a.slug,
        category=category.slug,
        locale=loc,
        title=a.title(loc),
        body_markdown=fill(a.body(loc), values),
        body_html=to_html(a.body(loc), values),
        helpful_yes=a.helpful_yes,
        helpful_no=a.helpful_no,
        updated_at=a.updated_at,
    )


@router.post(
    "/articles/{slug}/vote",
    response_model=VoteOut,
    summary="Was this helpful? One vote per user; voting again replaces it",
)
async def vote(slug: str, body: VoteIn, s: DbSession, caller: Me) -> VoteOut:
    a = await service.vote(
        s, slug, voter=service.voter_for_user(caller.user.id), helpful=body.helpful
    )
    return VoteOut(helpful_yes=a.helpful_yes, helpful_no=a.helpful_no)


# -- staff -----------------------------------------------------------------------------------
@router.get(
    "/staff/articles", response_model=list[StaffArticleOut], summary="Every article (staff)"
)
async def staff_list(s: DbSession, caller: Me) -> list[StaffArticleOut]:
    require_staff(caller)
    names = {c.id: c.slug for c in await service.categories(s)}
    return [_staff_out(a, names[a.category_id]) for a in await service.all_articles(s)]


@router.get("/staff/articles/{slug}", response_model=StaffArticleOut, summary="An article (staff)")
async def staff_get(slug: str, s: DbSession, caller: Me) -> StaffArticleOut:
    require_staff(caller)
    a = await service.any_article(s, slug)
    return _staff_out(a, (await service.category_of(s, a)).slug)


@router.post(
    "/articles",
    response_model=StaffArticleOut,
    status_code=201,
    summary="Create an article as a draft (staff)",
)
async def staff_create(body: ArticleCreate, s: DbSession, caller: Me) -> StaffArticleOut:
    require_staff(caller)
    fields = body.model_dump()
    slug = fields.pop("slug")
    a = await service.create(
        s, slug=slug, draft=service.ArticleDraft(**fields), actor=caller.user.id
    )
    return _staff_out(a, body.category)


@router.put("/articles/{slug}", response_model=StaffArticleOut, summary="Edit an article (staff)")
async def staff_update(slug: str, body: ArticleIn, s: DbSession, caller: Me) -> StaffArticleOut:
    require_staff(caller)
    a = await service.update(s, slug, draft=_draft(body), actor=caller.user.id)
    return _staff_out(a, body.category)


@router.post("/articles/{slug}/publish", response_model=StaffArticleOut, summary="Publish (staff)")
async def staff_publish(slug: str, s: DbSession, caller: Me) -> StaffArticleOut:
    require_staff(caller)
    a = await service.set_published(s, slug, published=True, actor=caller.user.id)
    return _staff_out(a, (await service.category_of(s, a)).slug)


@router.post(
    "/articles/{slug}/unpublish",
    response_model=StaffArticleOut,
    summary="Back to draft: hidden from the public (staff)",
)
async def staff_unpublish(slug: str, s: DbSession, caller: Me) -> StaffArticleOut:
    require_staff(caller)
    a = await service.set_published(s, slug, published=False, actor=caller.user.id)
    return _staff_out(a, (await service.category_of(s, a)).slug)
