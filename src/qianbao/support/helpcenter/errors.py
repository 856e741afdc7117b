"""Help-center refusals."""

from __future__ import annotations

from qianbao.kernel.errors import DomainError, ErrorKind
from qianbao.kernel.i18n import N_


class ArticleNotFound(DomainError):
    code = "help.article_not_found"
    kind = ErrorKind.NOT_FOUND
    message = N_("We could not find this help article.")


class ArticleInvalid(DomainError):
    code = "help.article_invalid"
    kind = ErrorKind.INVALID
    message = N_("Check the article: {problem}")


class SlugTaken(DomainError):
    code = "help.slug_taken"
    kind = ErrorKind.CONFLICT
    message = N_("Another article already uses this address (slug).")


class StaffOnly(DomainError):
    code = "help.staff_only"
    kind = ErrorKind.FORBIDDEN
    message = N_("Only customer service staff can edit help articles.")
