"""JSON shapes of the identity API."""

from __future__ import annotations

import uuid
from datetime import date, datetime
from typing import Any, Literal

from pydantic import BaseModel, Field


class PhoneIn(BaseModel):
    phone: str = Field(max_length=32, examples=["13800138000"])


class SignUpIn(BaseModel):
    phone: str = Field(max_length=32)
    code: str = Field(max_length=12)
    password: str = Field(max_length=256)
    password_confirm: str = Field(max_length=256)
    real_name: str | None = Field(default=None, max_length=100)
    birthday: date | None = None
    accept_terms: bool = Field(
        default=False,
        description="The person accepted the user agreement (/terms) and the privacy policy "
        "(/privacy). Required: without it the sign-up is refused (identity.terms_not_accepted).",
    )


class LoginIn(BaseModel):
    phone: str = Field(max_length=32)
    password: str = Field(max_length=256)


class SecondFactorIn(BaseModel):
    pending_token: str = Field(max_length=200)
    code: str = Field(max_length=32)


class ForgotIn(BaseModel):
    login: str = Field(
        max_length=254, description="The phone number, or the verified e-mail address"
    )
    channel: Literal["sms", "email"] = "sms"


class ResetIn(ForgotIn):
    code: str = Field(max_length=12)
    password: str = Field(max_length=256)
    password_confirm: str = Field(max_length=256)
    second_factor: str | None = Field(
        default=None, max_length=32, description="Required when 2FA is on"
    )


class PhoneChangeIn(BaseModel):
    phone: str = Field(max_length=32)
    code: str = Field(max_length=12)
    password: str = Field(max_length=256)


class StaffCreateIn(BaseModel):
    phone: str = Field(max_length=32)
    role: Literal["support_agent", "supervisor", "admin", "merchant_staff"]
    password: str = Field(max_length=256)
    name: str | None = Field(default=None, max_length=100)


class EmailIn(BaseModel):
    email: str = Field(max_length=254)


class EmailVerifyIn(EmailIn):
    code: str = Field(max_length=12)


class PasswordChangeIn(BaseModel):
    old_password: str = Field(max_length=256)
    new_password: str = Field(max_length=256)
    new_password_confirm: str = Field(max_length=256)


class PinIn(BaseModel):
    pin: str = Field(max_length=12)
    password: str | None = Field(
        default=None, max_length=256, description="Needed to change an existing PIN"
    )


class PinCheckIn(BaseModel):
    pin: str = Field(max_length=12)


class PasswordCodeIn(BaseModel):
    password: str = Field(max_length=256)
    code: str = Field(max_length=12)


class UnfreezeIn(BaseModel):
    password: str = Field(max_length=256)
    code: str | None = Field(default=None, max_length=12, description="SMS code")
    authenticator_code: str | None = Field(
        default=None,
        max_length=32,
        description="Instead of `code`, when no SMS can be had: a code from the authenticator "
        "app (or a recovery code). Ten wrong second-factor codes lock it for 30 minutes.",
    )


class CodeIn(BaseModel):
    code: str = Field(max_length=32)


class PasskeyIn(BaseModel):
    challenge_id: str = Field(max_length=64)
    credential: dict[str, Any]
    name: str = Field(default="Passkey", max_length=100)


class TokenOut(BaseModel):
    token: str
    token_type: Literal["bearer"] = "bearer"  # noqa: S105 - a token type, not a secret
    expires_at: datetime


class LoginOut(BaseModel):
    second_factor_required: bool
    token: str | None = None
    pending_token: str | None = None
    expires_at: datetime | None = None


class UserOut(BaseModel):
    id: uuid.UUID
    phone: str
    email: str | None
    email_verified: bool
    real_name: str | None
    role: str
    locale: str
    kyc_tier: int
    frozen: bool
    pin_set: bool
    pin_locked: bool
    two_factor_enabled: bool
    created_at: datetime


class SessionOut(BaseModel):
    id: uuid.UUID
    device: str | None
    ip: str | None
    created_at: datetime
    last_seen_at: datetime
    current: bool


class EventOut(BaseModel):
    kind: str
    created_at: datetime
    starts_cooling_off: bool
    ip: str | None


class EnrolmentOut(BaseModel):
    secret: str
    uri: str
    qr_svg: str


class RecoveryCodesOut(BaseModel):
    recovery_codes: list[str]


class PasskeyOut(BaseModel):
    id: str
    name: str
    created_at: datetime
    last_used_at: datetime | None
