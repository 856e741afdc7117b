"""Phone numbers: parsed and validated with ``phonenumbers``, stored in E.164."""

from __future__ import annotations

import phonenumbers

from qianbao.identity.errors import InvalidPhoneNumber

MOBILE_TYPES = {
    phonenumbers.PhoneNumberType.MOBILE,
    phonenumbers.PhoneNumberType.FIXED_LINE_OR_MOBILE,
}


def normalize_phone(raw: str, region: str = "CN") -> str:
    """'138 0013 8000' (region CN) or '+86 138-0013-8000' -> '+8613800138000'."""
    if not isinstance(raw, str) or not raw.strip() or len(raw) > 32:
        raise InvalidPhoneNumber()
    try:
        parsed = phonenumbers.parse(raw, region)
    except phonenumbers.NumberParseException as exc:
        raise InvalidPhoneNumber() from exc
    if (
        not phonenumbers.is_valid_number(parsed)
        or phonenumbers.number_type(parsed) not in MOBILE_TYPES
    ):
        raise InvalidPhoneNumber()
    return phonenumbers.format_number(parsed, phonenumbers.PhoneNumberFormat.E164)


def mask_phone(e164: str) -> str:
    """'+8613800138000' -> '+86 138****8000'."""
    try:
        parsed = phonenumbers.parse(e164, None)
        national = str(parsed.national_number)
        return f"+{parsed.country_code} {national[:3]}****{national[-4:]}"
    except phonenumbers.NumberParseException:
        return "****"


def mask_name(name: str | None) -> str:
    """Enough of a name for the payer to recognise it, not enough to learn it.

    Chinese names keep the first and the last character: '张三丰' -> '张*丰', '张三' -> '张*'.
    Names in Latin letters keep the given name and the family name's initial, as Western
    wallets show them: 'Li Mei' -> 'Li M.', 'Mary Ann Smith' -> 'Mary A. S.'; one word keeps its
    first three letters: 'Alexander' -> 'Ale******'.
    """
    if not name:
        return ""
    words = name.split()
    if len(words) > 1 and all(w.isascii() for w in words):
        return " ".join([words[0], *(w[0] + "." for w in words[1:])])
    if name.isascii() and len(name) > 4:
        return name[:3] + "*" * (len(name) - 3)
    if len(name) == 1:
        return name
    if len(name) == 2:
        return name[0] + "*"
    return name[0] + "*" * (len(name) - 2) + name[-1]
