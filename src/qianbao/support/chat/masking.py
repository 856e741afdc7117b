"""Hide what a customer must never share before a message is stored or shown: card numbers
(13–19 digits, spaces or dashes allowed, Luhn-valid), numbers after words such as PIN, 密码,
验证码 or code (4–6 digits), and any 6-digit code. Pure functions, no I/O."""

from __future__ import annotations

import re
from dataclasses import dataclass

# 13–19 digits, single spaces or dashes allowed between them, not glued to other digits.
_CARD = re.compile(r"(?<![\d-])\d(?:[ -]?\d){12,18}(?![\d-])")
# A 4–6 digit number after a word that announces a secret ("PIN 1234", "密码是 2580",
# "验证码：123456", "my code is 0000"). Up to 12 characters of glue ("is", "是", ":") between.
_KEYWORDS = (
    r"pin|passcode|password|passwort|code|otp|cvv|cvc|"
    r"密码|支付密码|验证码|校验码|动态码|口令|安全码|"
    r"密碼|驗證碼|校驗碼|動態碼|安全碼"  # the same words in Traditional characters
)
_AFTER_KEYWORD = re.compile(
    rf"(?i)(?P<word>{_KEYWORDS})(?P<glue>[^\d\n]{{0,12}}?)(?<!\d)(?P<num>\d{{4,6}})(?!\d)"
)
_SIX = re.compile(r"(?<!\d)\d{6}(?!\d)")

CARD_MASK = "**** **** **** {last4}"
CODE_MASK = "******"
PIN_MASK = "****"


@dataclass(frozen=True)
class Masked:
    text: str
    masked: bool  # something was hidden: the customer gets the warning


def luhn_valid(digits: str) -> bool:
    if not digits.isdigit():
        return False
    total = 0
    for i, ch in enumerate(reversed(digits)):
        d = int(ch)
        if i % 2 == 1:
            d *= 2
            if d > 9:
                d -= 9
        total += d
    return total % 10 == 0


def _card(match: re.Match[str]) -> str:
    digits = re.sub(r"[ -]", "", match.group(0))
    if 13 <= len(digits) <= 19 and luhn_valid(digits):
        return CARD_MASK.format(last4=digits[-4:])
    return match.group(0)


def _pin(match: re.Match[str]) -> str:
    hidden = CODE_MASK if len(match.group("num")) == 6 else PIN_MASK
    return f"{match.group('word')}{match.group('glue')}{hidden}"


def mask(text: str) -> Masked:
    """The text with card numbers, PIN-looking numbers and 6-digit codes replaced."""
    out = _CARD.sub(_card, text)
    out = _AFTER_KEYWORD.sub(_pin, out)
    out = _SIX.sub(CODE_MASK, out)
    return Masked(out, out != text)
