"""Identity refusals. Messages never reveal whether a phone number has an account."""

from __future__ import annotations

from qianbao.kernel.errors import DomainError, ErrorKind
from qianbao.kernel.i18n import N_


class IdentityError(DomainError):
    kind = ErrorKind.INVALID


class InvalidPhoneNumber(IdentityError):
    code = "identity.invalid_phone"
    message = N_("This is not a valid mobile number.")


class InvalidEmail(IdentityError):
    code = "identity.invalid_email"
    message = N_("This is not a valid e-mail address.")


class CodeInvalid(IdentityError):
    code = "identity.code_invalid"
    message = N_("The code is wrong or has expired. Request a new one.")


class CodeTooManyChecks(IdentityError):
    code = "identity.code_locked"
    kind = ErrorKind.RATE_LIMITED
    message = N_("Too many wrong codes. Request a new code.")


class CodeCooldown(IdentityError):
    code = "identity.code_cooldown"
    kind = ErrorKind.RATE_LIMITED
    message = N_("A code was sent a moment ago. Wait {seconds} seconds before asking again.")


class CodeSendLimit(IdentityError):
    code = "identity.code_send_limit"
    kind = ErrorKind.RATE_LIMITED
    message = N_("Too many codes were requested. You can ask for a new one in {minutes} minutes.")


class WeakPassword(IdentityError):
    code = "identity.weak_password"
    message = N_("Choose a stronger password: {reason}")


class PasswordsDiffer(IdentityError):
    code = "identity.passwords_differ"
    message = N_("The two passwords are not the same.")


class PhoneTaken(IdentityError):
    code = "identity.phone_taken"
    kind = ErrorKind.CONFLICT
    message = N_("This number cannot be used. If it is yours, sign in or reset your password.")


class EmailTaken(IdentityError):
    code = "identity.email_taken"
    kind = ErrorKind.CONFLICT
    message = N_("This e-mail address cannot be used.")


class LoginFailed(IdentityError):
    code = "identity.login_failed"
    kind = ErrorKind.UNAUTHENTICATED
    message = N_("The number or the password is wrong.")


class LoginLocked(IdentityError):
    code = "identity.login_locked"
    kind = ErrorKind.RATE_LIMITED
    message = N_(
        "Too many failed attempts. Try again after {minutes} minutes, or reset your password."
    )


class NotSignedIn(IdentityError):
    code = "identity.not_signed_in"
    kind = ErrorKind.UNAUTHENTICATED
    message = N_("Please sign in.")


class Forbidden(IdentityError):
    code = "identity.forbidden"
    kind = ErrorKind.FORBIDDEN
    message = N_("You are not allowed to do this.")


class WrongPassword(IdentityError):
    code = "identity.wrong_password"
    kind = ErrorKind.UNAUTHENTICATED
    message = N_("The password is wrong.")


class PinNotSet(IdentityError):
    code = "identity.pin_not_set"
    kind = ErrorKind.CONFLICT
    message = N_("Set your payment PIN first.")


class WeakPin(IdentityError):
    code = "identity.weak_pin"
    message = N_(
        "This PIN is too easy to guess. Avoid repeated digits, sequences and your birthday."
    )


class PinFormat(IdentityError):
    code = "identity.pin_format"
    message = N_("The payment PIN is six digits.")


class WrongPin(IdentityError):
    code = "identity.wrong_pin"
    kind = ErrorKind.UNAUTHENTICATED
    message = N_("The payment PIN is wrong. {remaining} tries left.")


class PinLocked(IdentityError):
    code = "identity.pin_locked"
    kind = ErrorKind.FORBIDDEN
    message = N_(
        "Your payment PIN is locked after too many wrong tries. Unlock it with your password and an SMS code."  # noqa: E501
    )


class TwoFactorRequired(IdentityError):
    code = "identity.two_factor_required"
    kind = ErrorKind.UNAUTHENTICATED
    message = N_("Enter the code from your authenticator app.")


class TwoFactorInvalid(IdentityError):
    code = "identity.two_factor_invalid"
    kind = ErrorKind.UNAUTHENTICATED
    message = N_("The authenticator code is wrong or was already used.")


class TwoFactorNotEnabled(IdentityError):
    code = "identity.two_factor_not_enabled"
    kind = ErrorKind.CONFLICT
    message = N_("Two-factor authentication is not turned on.")


class StaffNeedsTwoFactor(IdentityError):
    code = "identity.staff_needs_two_factor"
    kind = ErrorKind.FORBIDDEN
    message = N_(
        "Staff accounts must turn on two-factor authentication before doing anything else."
    )


class PasskeyFailed(IdentityError):
    code = "identity.passkey_failed"
    kind = ErrorKind.UNAUTHENTICATED
    message = N_("The passkey could not be verified.")


class AccountFrozen(IdentityError):
    code = "identity.account_frozen"
    kind = ErrorKind.CONFLICT
    message = N_("Your account is frozen. You can sign in and read, but money cannot move.")


class NotFrozen(IdentityError):
    code = "identity.not_frozen"
    kind = ErrorKind.CONFLICT
    message = N_("The account is not frozen.")


class FrozenBySupport(IdentityError):
    code = "identity.frozen_by_support"
    kind = ErrorKind.FORBIDDEN
    message = N_("Our support team froze this account. Contact us to unfreeze it.")


class TermsNotAccepted(IdentityError):
    code = "identity.terms_not_accepted"
    kind = ErrorKind.INVALID
    message = N_("To open an account, read and accept the user agreement and the privacy policy.")
