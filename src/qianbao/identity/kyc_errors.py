"""Identity verification refusals (A8): each a stable ``kyc.*`` code. A refusal changes nothing."""

from __future__ import annotations

from qianbao.kernel.errors import DomainError, ErrorKind
from qianbao.kernel.i18n import N_


class KycError(DomainError):
    kind = ErrorKind.INVALID


# -- tier 1: name and ID number -----------------------------------------------------------------
class NameInvalid(KycError):
    code = "kyc.name_invalid"
    message = N_("Type your name exactly as on your ID card.")


class IdNumberInvalid(KycError):
    code = "kyc.id_invalid"
    message = N_(
        "This is not a valid resident ID card number. Check the 18 characters: digits, and "
        "an X only at the end."
    )


class IdNumberMistyped(IdNumberInvalid):
    """The same code: the number's form is right but its check digit does not match."""

    message = N_(
        "This ID card number has a typing mistake: its last character (the check digit) does "
        "not match the other 17. Check each character against the card."
    )


class BirthdayInvalid(KycError):
    code = "kyc.birthday_invalid"
    message = N_("Give your date of birth (year, month and day).")


class BirthdayMismatch(KycError):
    code = "kyc.birthday_mismatch"
    message = N_("The date of birth does not match the ID card number.")


class SexInvalid(KycError):
    code = "kyc.sex_invalid"
    message = N_("Choose male or female, as on your ID card.")


class SexMismatch(KycError):
    code = "kyc.sex_mismatch"
    message = N_("The sex does not match the ID card number.")


class TooYoung(KycError):
    code = "kyc.too_young"
    message = N_("You must be at least {years} years old to verify your identity.")


class IdInUse(KycError):
    code = "kyc.id_in_use"
    kind = ErrorKind.CONFLICT
    message = N_(
        "This ID card number is already verified on another account. If it is yours, contact "
        "customer service."
    )


class AlreadyVerified(KycError):
    code = "kyc.already_verified"
    kind = ErrorKind.CONFLICT
    message = N_("Your identity is already verified at this level.")


# -- tier 2: documents and the application ------------------------------------------------------
class Tier1First(KycError):
    code = "kyc.tier1_first"
    kind = ErrorKind.CONFLICT
    message = N_("Verify your name and ID card number first.")


class DocumentKindUnknown(KycError):
    code = "kyc.document_unknown"
    kind = ErrorKind.NOT_FOUND
    message = N_("There is no such document to upload.")


class NotAnImage(KycError):
    code = "kyc.not_an_image"
    message = N_("This file is not a photo we can read. Send a JPEG, PNG or WebP photo.")


class FileTooLarge(KycError):
    code = "kyc.file_too_large"
    message = N_("This photo is too large: at most {limit}.")


class ImageTooLarge(KycError):
    code = "kyc.image_too_large"
    message = N_("This photo has too many pixels to read. Take a new photo at a normal size.")


class UnderReview(KycError):
    code = "kyc.under_review"
    kind = ErrorKind.CONFLICT
    message = N_(
        "Your documents are being reviewed: they cannot be changed now. We tell you when "
        "the review is done."
    )


class OnlyRequestedDocument(KycError):
    code = "kyc.only_requested_document"
    kind = ErrorKind.CONFLICT
    message = N_("Only the photo we asked for can be replaced: {document}.")


class DocumentsMissing(KycError):
    code = "kyc.documents_missing"
    kind = ErrorKind.CONFLICT
    message = N_("Upload all three photos first: both sides of your ID card and the selfie.")


class ReplaceFirst(KycError):
    code = "kyc.replace_first"
    kind = ErrorKind.CONFLICT
    message = N_("Upload a new photo of {document} first.")


class NothingToSubmit(KycError):
    code = "kyc.nothing_to_submit"
    kind = ErrorKind.CONFLICT
    message = N_("There is nothing to submit: upload your photos first.")


class TierRequired(KycError):
    code = "kyc.tier_required"
    kind = ErrorKind.FORBIDDEN
    message = N_(
        "This needs identity verification at level {tier}. Verify your identity in "
        "Me → Identity verification."
    )


# -- the review ---------------------------------------------------------------------------------
class ApplicationNotFound(KycError):
    code = "kyc.application_not_found"
    kind = ErrorKind.NOT_FOUND
    message = N_("We could not find this application.")


class AlreadyDecided(KycError):
    code = "kyc.already_decided"
    kind = ErrorKind.CONFLICT
    message = N_("This application is not waiting for a decision (someone decided it already).")


class ReasonInvalid(KycError):
    code = "kyc.reason_invalid"
    message = N_("Choose a reason from the list.")


class NoteRequired(KycError):
    code = "kyc.note_required"
    message = N_("Write a note for the customer: with this reason, the note is all they are told.")


class OwnApplication(KycError):
    code = "kyc.own_application"
    kind = ErrorKind.FORBIDDEN
    message = N_("You cannot decide your own application.")


class TooManyAttempts(KycError):
    code = "kyc.too_many_attempts"
    kind = ErrorKind.RATE_LIMITED
    message = N_(
        "Too many attempts to verify your identity today. Check your ID card and try again "
        "tomorrow, or contact customer service."
    )
