"""The public site: home page, language switch, PWA files, the error code pages, API docs."""

from __future__ import annotations

from pathlib import Path
from urllib.parse import urlsplit

from fastapi import APIRouter, Request
from fastapi.responses import FileResponse, HTMLResponse, RedirectResponse, Response

from qianbao.kernel.i18n import N_
from qianbao.web.i18n import LOCALES, gettext
from qianbao.web.problems import EDGE_ERRORS, edge_problem
from qianbao.web.templating import locale_of, render

router = APIRouter(include_in_schema=False)
STATIC = Path(__file__).resolve().parent.parent / "static"
ONE_YEAR = 60 * 60 * 24 * 365


def safe_next(value: str | None) -> str:
    """Only same-site relative paths: never an open redirect."""
    if not value:
        return "/"
    parts = urlsplit(value)
    if (
        parts.scheme
        or parts.netloc
        or not value.startswith("/")
        or value.startswith("//")
        or "\\" in value
    ):
        return "/"
    return value


@router.get("/", response_class=HTMLResponse)
async def home(request: Request) -> Response:
    return render(request, "public/home.html")


@router.get("/terms", response_class=HTMLResponse)
async def terms(request: Request) -> Response:
    return _legal(request, "terms", N_("User agreement"))


@router.get("/privacy", response_class=HTMLResponse)
async def privacy(request: Request) -> Response:
    return _legal(request, "privacy", N_("Privacy policy"))


def _legal(request: Request, doc: str, title: str) -> Response:
    """The user agreement and the privacy policy (templates/public/legal/, one per language);
    their version is the one a new account accepts."""
    return render(
        request,
        "public/legal.html",
        {
            "doc": doc,
            "title": gettext(locale_of(request), title),
            "version": request.app.state.settings.identity.terms_version,
        },
    )


@router.get("/lang/{code}")
async def switch_language(request: Request, code: str, next: str | None = None) -> Response:
    target = safe_next(next)
    response = RedirectResponse(target, status_code=303)
    if code in LOCALES:
        settings = request.app.state.settings
        response.set_cookie(
            settings.i18n.locale_cookie,
            code,
            max_age=ONE_YEAR,
            httponly=True,
            samesite="lax",
            secure=settings.http.https,
        )
    return response


@router.get("/problems/{code}", response_class=HTMLResponse)
async def problem_page(request: Request, code: str) -> Response:
    """Explains an error code (the ``type`` of every problem+json response points here)."""
    known = code in EDGE_ERRORS
    problem = edge_problem(code, locale_of(request)) if known else None
    return render(request, "public/problem.html", {"code": code, "problem": problem})


@router.get("/manifest.webmanifest")
async def manifest(request: Request) -> Response:
    return render(
        request,
        "public/manifest.webmanifest",
        headers={
            "Content-Type": "application/manifest+json",
            "Cache-Control": "public, max-age=3600",
        },
    )


@router.get("/sw.js")
async def service_worker() -> Response:
    # Served from the root so its scope is the whole site.
    return FileResponse(
        STATIC / "js" / "sw.js",
        media_type="text/javascript",
        headers={"Cache-Control": "no-cache", "Service-Worker-Allowed": "/"},
    )


@router.get("/favicon.ico")
async def favicon() -> Response:
    return FileResponse(
        STATIC / "icons" / "favicon.ico", headers={"Cache-Control": f"public, max-age={ONE_YEAR}"}
    )


@router.get("/docs", response_class=HTMLResponse)
async def api_docs(request: Request) -> Response:
    """Interactive API documentation (Swagger UI, vendored: no CDN)."""
    return render(request, "public/api_docs.html")
