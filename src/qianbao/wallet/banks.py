"""Recognising bank cards and accounts: Luhn (python-stdnum) and the issuing bank from the BIN
for the main Chinese banks; IBANs with schwifty (checksum, country, bank)."""

from __future__ import annotations

import re
from dataclasses import dataclass

from schwifty import IBAN
from schwifty.exceptions import SchwiftyException
from stdnum import luhn

from qianbao.kernel.i18n import N_
from qianbao.kernel.text import is_ascii_digits

# Six-digit BIN prefixes of common UnionPay debit cards of the main Chinese banks (public ranges).
BINS: dict[str, str] = {
    "622202": N_("Industrial and Commercial Bank of China"),
    "622208": N_("Industrial and Commercial Bank of China"),
    "621226": N_("Industrial and Commercial Bank of China"),
    "621700": N_("China Construction Bank"),
    "622700": N_("China Construction Bank"),
    "436742": N_("China Construction Bank"),
    "622848": N_("Agricultural Bank of China"),
    "622845": N_("Agricultural Bank of China"),
    "621661": N_("Bank of China"),
    "621785": N_("Bank of China"),
    "601382": N_("Bank of China"),
    "622588": N_("China Merchants Bank"),
    "621483": N_("China Merchants Bank"),
    "622262": N_("Bank of Communications"),
    "622260": N_("Bank of Communications"),
    "621799": N_("Postal Savings Bank of China"),
    "622150": N_("Postal Savings Bank of China"),
    "622689": N_("China CITIC Bank"),
    "622690": N_("China CITIC Bank"),
    "622609": N_("Shanghai Pudong Development Bank"),
    "621792": N_("Shanghai Pudong Development Bank"),
    "622617": N_("China Minsheng Bank"),
    "622622": N_("China Minsheng Bank"),
    "622660": N_("China Everbright Bank"),
    "622908": N_("Industrial Bank"),
    "622909": N_("Industrial Bank"),
    "622155": N_("Ping An Bank"),
    "623058": N_("Ping An Bank"),
}
UNKNOWN_BANK = N_("Bank card")


@dataclass(frozen=True)
class Recognised:
    kind: str  # card | iban
    number: str  # normalised, digits or IBAN without spaces
    last4: str
    bank_name: str  # an N_ msgid for cards, the bank's own name for IBANs
    country: str


def clean(raw: str) -> str:
    return re.sub(r"[\s-]", "", raw or "").upper()


def recognise_card(raw: str) -> Recognised | None:
    number = clean(raw)
    if not (is_ascii_digits(number) and 13 <= len(number) <= 19 and luhn.is_valid(number)):
        return None
    return Recognised("card", number, number[-4:], BINS.get(number[:6], UNKNOWN_BANK), "CN")


def recognise_iban(raw: str) -> Recognised | None:
    value = clean(raw)
    if len(value) < 15 or not value[:2].isalpha():
        return None
    try:
        iban = IBAN(value)
    except (SchwiftyException, ValueError):
        return None
    bank = iban.bank_name or iban.bank_short_name or ""
    return Recognised(
        "iban", str(iban.compact), iban.compact[-4:], bank or UNKNOWN_BANK, iban.country_code
    )


def mask(last4: str) -> str:
    return f"•••• {last4}"
