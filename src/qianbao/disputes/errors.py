"""What a claim can be refused for (stable codes; the messages are shown in the user's language)."""

from __future__ import annotations

from qianbao.kernel.errors import DomainError, ErrorKind
from qianbao.kernel.i18n import N_


class CaseNotFound(DomainError):
    code = "disputes.case_not_found"
    kind = ErrorKind.NOT_FOUND
    message = N_("No such case.")


class NotClaimable(DomainError):
    code = "disputes.not_claimable"
    kind = ErrorKind.INVALID
    message = N_("Only money you sent or paid, once it has gone through, can be claimed.")


class AlreadyClaimed(DomainError):
    code = "disputes.already_claimed"
    kind = ErrorKind.CONFLICT
    message = N_("This transaction already has a case: {reference}. Follow it on its page.")


class ClaimTooLate(DomainError):
    code = "disputes.claim_too_late"
    kind = ErrorKind.CONFLICT
    message = N_(
        "Claims must be made within {days} days of the transaction. Contact customer service: "
        "they can still help you report it to the police."
    )


class ClaimInvalid(DomainError):
    code = "disputes.claim_invalid"
    kind = ErrorKind.INVALID
    message = N_("Check the claim: {reason}")


class AmountAboveClaim(DomainError):
    code = "disputes.amount_above_claim"
    kind = ErrorKind.INVALID
    message = N_("The refund cannot be more than the {amount} claimed.")


class WrongStage(DomainError):
    code = "disputes.wrong_stage"
    kind = ErrorKind.CONFLICT
    message = N_("The case is no longer at this step (it is {status}): reload it.")


class SamePerson(DomainError):
    code = "disputes.same_person"
    kind = ErrorKind.FORBIDDEN
    message = N_("A different supervisor must decide: you made the recommendation.")


class SupervisorsOnly(DomainError):
    code = "disputes.supervisors_only"
    kind = ErrorKind.FORBIDDEN
    message = N_("Only supervisors decide on refunds.")


class AlreadyAppealed(DomainError):
    code = "disputes.already_appealed"
    kind = ErrorKind.CONFLICT
    message = N_("This case was already appealed once; its second decision is final.")


class AppealTooLate(DomainError):
    code = "disputes.appeal_too_late"
    kind = ErrorKind.CONFLICT
    message = N_("An appeal must be made within {days} days of the decision.")


class MerchantAnswerTooLate(DomainError):
    code = "disputes.merchant_answer_too_late"
    kind = ErrorKind.CONFLICT
    message = N_("The time to answer this dispute has passed.")


class MerchantAlreadyAnswered(DomainError):
    code = "disputes.merchant_already_answered"
    kind = ErrorKind.CONFLICT
    message = N_("This dispute was already answered.")


class ScreenshotRefused(DomainError):
    code = "disputes.screenshot_refused"
    kind = ErrorKind.INVALID
    message = N_(
        "{name}: screenshots must be PNG, JPEG or PDF files of at most {limit}, and at most "
        "{count} of them."
    )
