"""Refusals of the stuck top-up actions (support.console.topups)."""

from __future__ import annotations

from qianbao.kernel.errors import DomainError, ErrorKind
from qianbao.kernel.i18n import N_


class TopupNotStuck(DomainError):
    code = "console.topup_not_stuck"
    kind = ErrorKind.CONFLICT
    message = N_("This top-up is already settled: there is nothing to do.")


class CreditPending(DomainError):
    code = "console.topup_credit_pending"
    kind = ErrorKind.CONFLICT
    message = N_("A manual credit of this top-up is already waiting for approval.")


class CreditNotFound(DomainError):
    code = "console.topup_credit_not_found"
    kind = ErrorKind.NOT_FOUND
    message = N_("We could not find this manual credit.")


class CreditDecided(DomainError):
    code = "console.topup_credit_decided"
    kind = ErrorKind.CONFLICT
    message = N_("This manual credit was already decided: it cannot be decided again.")


class CreditSameApprover(DomainError):
    code = "console.topup_credit_same_approver"
    kind = ErrorKind.FORBIDDEN
    message = N_("Another staff member must approve this credit: you proposed it.")


class EvidenceRequired(DomainError):
    code = "console.topup_evidence_required"
    kind = ErrorKind.INVALID
    message = N_(
        "Say what shows the customer was charged (at least 5 characters), "
        "for example the bank's record of the payment."
    )


class ProviderUnknown(DomainError):
    code = "console.topup_provider_unknown"
    kind = ErrorKind.UNAVAILABLE
    message = N_("This deployment cannot reach the provider of this top-up now.")
