"""RFC 9457 problem details: one shape for every error the HTTP edge returns.

``type`` is a relative reference to ``/problems/<code>``, a page that explains the code.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from qianbao.kernel.errors import DomainError, ErrorKind
from qianbao.kernel.i18n import N_, Message
from qianbao.kernel.money import Money
from qianbao.web.formatting import format_money
from qianbao.web.i18n import gettext

PROBLEM_JSON = "application/problem+json"

STATUS_FOR_KIND = {
    ErrorKind.INVALID: 422,
    ErrorKind.NOT_FOUND: 404,
    ErrorKind.CONFLICT: 409,
    ErrorKind.UNAUTHENTICATED: 401,
    ErrorKind.FORBIDDEN: 403,
    ErrorKind.RATE_LIMITED: 429,
    ErrorKind.UNAVAILABLE: 503,
}

# Errors raised by the HTTP edge itself (not by a domain): code, status, message.
EDGE_ERRORS: dict[str, tuple[int, str]] = {
    "http.not_found": (404, N_("This page does not exist.")),
    "http.method_not_allowed": (405, N_("This action is not allowed here.")),
    "http.bad_request": (400, N_("The request could not be understood.")),
    "request.too_large": (413, N_("What you sent is too large.")),
    "request.unsupported_media_type": (415, N_("Send JSON (Content-Type: application/json).")),
    "request.validation_failed": (422, N_("Some of the information you sent is not valid.")),
    "request.rate_limited": (
        429,
        N_("Too many requests from your connection. Wait a moment, then try again."),
    ),
    "csrf.failed": (
        403,
        N_("Your form has expired or did not come from this site. Reload the page and try again."),
    ),
    "service.unavailable": (
        503,
        N_("The service is temporarily unavailable. Please try again shortly."),
    ),
    "internal": (500, N_("Something went wrong on our side. We have been told; please try again.")),
}

STATUS_CODES = {
    400: "http.bad_request",
    404: "http.not_found",
    405: "http.method_not_allowed",
    413: "request.too_large",
    415: "request.unsupported_media_type",
    422: "request.validation_failed",
    503: "service.unavailable",
}


@dataclass
class Problem:
    status: int
    code: str
    title: str
    detail: str | None = None
    extra: dict[str, Any] = field(default_factory=dict)

    def to_dict(self, *, instance: str | None, request_id: str | None) -> dict[str, Any]:
        body: dict[str, Any] = {
            "type": f"/problems/{self.code}",
            "title": self.title,
            "status": self.status,
            "code": self.code,
        }
        if self.detail:
            body["detail"] = self.detail
        if instance:
            body["instance"] = instance
        if request_id:
            body["request_id"] = request_id
        body.update(self.extra)
        return body


def edge_problem(code: str, locale: str, *, detail: str | None = None, **extra: Any) -> Problem:
    status, message = EDGE_ERRORS[code]
    return Problem(
        status=status, code=code, title=gettext(locale, message), detail=detail, extra=extra
    )


def domain_problem(error: DomainError, locale: str) -> Problem:
    status = STATUS_FOR_KIND[error.kind]
    # Money is written as everywhere on the pages ("¥5,000.00"). A parameter may itself be a
    # message (a reason marked with N_): translate and fill it too. Any other string is data —
    # the user's own input among it — and is never a format string.
    data = {
        k: format_money(v.minor, v.currency, locale) if isinstance(v, Money) else v
        for k, v in error.params.items()
    }
    params = {
        k: gettext(locale, v, **data) if isinstance(v, Message) else v for k, v in data.items()
    }
    title = gettext(locale, error.message, **params)
    return Problem(status=status, code=error.code, title=title)
