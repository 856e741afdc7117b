"""Normal forms of channel values, so that a lookup is an exact comparison.

- phone: E.164 with ``phonenumbers`` ('+86 138 0013 8000', '138-0013-8000' and '13800138000'
  are all '+8613800138000'); a short service number that is no full number keeps its digits.
- website: the host only, lower case, without scheme, user info, port, path or a leading
  'www.' ('https://www.Qianbao.example/path' -> 'qianbao.example'); international names in
  their ASCII (punycode) form, so a look-alike in another script never equals ours.
- email: lower case, without 'mailto:'.
- social: lower case, no spaces, no leading '@' ('WeChat: @QianbaoWallet' ->
  'wechat:qianbaowallet').
- agent_id: 'QB-' and the digits, upper case ('qb 123456' -> 'QB-123456').
"""

from __future__ import annotations

import re

import phonenumbers

AGENT_ID_RE = re.compile(r"^\s*qb[\s\-_]?(\d{4,6})\s*$", re.IGNORECASE)
HOST_RE = re.compile(r"^(?=.{1,253}$)([a-z0-9](?:[a-z0-9\-]{0,61}[a-z0-9])?\.)+[a-z0-9\-]{2,63}$")
EMAIL_RE = re.compile(r"^[^@\s]{1,64}@([^@\s]{1,253})$")
PHONE_CHARS_RE = re.compile(r"^[\d\s+\-().]{3,32}$")
MAX_VALUE = 254


def phone(raw: str, region: str = "CN") -> str | None:
    text = raw.strip()
    if text.lower().startswith("tel:"):
        text = text[4:]
    if not PHONE_CHARS_RE.match(text) or sum(c.isdigit() for c in text) < 3:
        return None
    try:
        parsed = phonenumbers.parse(text, region)
    except phonenumbers.NumberParseException:
        parsed = None
    if parsed is not None and phonenumbers.is_valid_number(parsed):
        return phonenumbers.format_number(parsed, phonenumbers.PhoneNumberFormat.E164)
    digits = "".join(c for c in text if c.isdigit())
    if 3 <= len(digits) <= 15 and not text.startswith("+"):
        return digits  # a short service number such as 95188
    return None


def website(raw: str) -> str | None:
    text = raw.strip().lower()
    if not text or len(text) > 2000 or any(c.isspace() for c in text):
        return None
    text = re.sub(r"^[a-z][a-z0-9+.\-]*://", "", text)
    text = re.split(r"[/?#\\]", text, maxsplit=1)[0]
    text = text.rsplit("@", 1)[-1]  # 'qianbao.example@evil.test' goes to evil.test
    text = re.sub(r":\d*$", "", text).rstrip(".")
    try:
        text = text.encode("idna").decode("ascii")
    except UnicodeError:
        return None
    if text.startswith("www."):
        text = text[4:]
    return text if HOST_RE.match(text) else None


def email(raw: str) -> str | None:
    text = raw.strip().lower()
    if text.startswith("mailto:"):
        text = text[7:]
    found = EMAIL_RE.match(text)
    if not found or website(found.group(1)) is None or len(text) > MAX_VALUE:
        return None
    local, _, domain = text.partition("@")
    return f"{local}@{domain.encode('idna').decode('ascii')}"


def social(raw: str) -> str | None:
    text = re.sub(r"\s+", "", raw.strip().lower())
    text = text.replace("：", ":")  # a full-width colon typed in Chinese
    text = re.sub(r"(^|:)@", r"\1", text)
    return text if 0 < len(text) <= MAX_VALUE else None


def agent_id(raw: str) -> str | None:
    found = AGENT_ID_RE.match(raw)
    return f"QB-{found.group(1)}" if found else None


NORMALIZERS = {
    "phone": phone,
    "website": website,
    "email": email,
    "social": social,
    "agent_id": agent_id,
}


def normalize(kind: str, raw: str, region: str = "CN") -> str | None:
    """The normal form of ``raw`` as a ``kind`` channel, or None when it cannot be one."""
    if kind == "phone":
        return phone(raw, region)
    fn = NORMALIZERS.get(kind)
    return fn(raw) if fn is not None else None


def candidates(raw: str, region: str = "CN") -> list[tuple[str, str]]:
    """Every (kind, normal form) the typed value could be: a visitor does not say what it is.
    An agent id or an e-mail address is only that; otherwise phone, website and social
    account are all tried."""
    if not isinstance(raw, str) or not raw.strip() or len(raw) > 2000:
        return []
    found = agent_id(raw)
    if found:
        return [("agent_id", found)]
    text = raw.strip()
    if "@" in text and not text.startswith("@") and "://" not in text:
        address = email(text)
        if address:
            return [("email", address)]
    out: list[tuple[str, str]] = []
    for kind in ("phone", "website", "social"):
        value = normalize(kind, text, region)
        if value is not None and (kind, value) not in out:
            out.append((kind, value))
    return out
