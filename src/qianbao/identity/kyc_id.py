"""What a person types for tier 1, checked: the resident ID card number (居民身份证号码), the
name on the card, the date of birth and the sex — the last two must agree with the number.

The number is 18 ASCII characters (a lowercase ``x`` at the end is read as ``X``; full-width
digits are refused here, pages turn them to ASCII first: ``kernel.text.from_typing``); its check
digit, date and region are checked by ``stdnum.cn.ric``. It is shown only masked:
``1101**********1234`` (the first four and last four characters).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date

from stdnum.cn import ric
from stdnum.exceptions import InvalidChecksum, ValidationError

from qianbao.identity.kyc_errors import (
    BirthdayInvalid,
    BirthdayMismatch,
    IdNumberInvalid,
    IdNumberMistyped,
    NameInvalid,
    SexInvalid,
    SexMismatch,
    TooYoung,
)
from qianbao.kernel.text import plain_text

_NUMBER = re.compile(r"[0-9]{17}[0-9X]")
_SPACES = re.compile(r"[ \t]+")
_DAY = re.compile(r"([0-9]{4})-([0-9]{2})-([0-9]{2})")
# Han characters (CJK unified ideographs and extension A), Latin letters, the middle dot of
# minority names (阿卜杜拉·买买提) and a few marks of Latin names.
_NAME = re.compile(r"[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaffA-Za-z·.'\- ]+")
_LETTER = re.compile(r"[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaffA-Za-z]")
_DOTS = str.maketrans({"•": "·", "・": "·", "．": "·", "‧": "·"})
SEXES = {"male": "M", "female": "F"}
SEX_NAMES = {"M": "male", "F": "female"}
OLDEST_YEAR = 1900


@dataclass(frozen=True)
class Ric:
    number: str
    birthday: date
    sex: str  # "M" | "F"

    @property
    def masked(self) -> str:
        return mask(self.number)


def mask(number: str) -> str:
    """``1101**********1234``: the region's first four and the last four characters."""
    return number[:4] + "*" * (len(number) - 8) + number[-4:]


def parse_number(text: str) -> Ric:
    """The 18-character number, checked (check digit, date, region); ``kyc.id_invalid``."""
    raw = _SPACES.sub("", (text or "").strip())
    if raw.endswith("x"):
        raw = raw[:-1] + "X"
    if _NUMBER.fullmatch(raw) is None:
        raise IdNumberInvalid()
    try:
        ric.validate(raw)
        born = ric.get_birth_date(raw)
    except InvalidChecksum:
        raise IdNumberMistyped() from None
    except ValidationError:
        raise IdNumberInvalid() from None
    if born.year < OLDEST_YEAR:
        raise IdNumberInvalid()
    return Ric(raw, born, "M" if int(raw[16]) % 2 else "F")


def parse_name(text: str) -> str:
    """The name as on the card: Han characters or Latin letters, with a middle dot between
    the parts of a minority name; 2 to 50 characters."""
    name = _SPACES.sub(" ", plain_text(text).replace("\n", " ")).translate(_DOTS).strip()
    if not 2 <= len(name) <= 50 or _NAME.fullmatch(name) is None or not _LETTER.search(name):
        raise NameInvalid()
    return name


def parse_birthday(text: str) -> date:
    """``YYYY-MM-DD`` in ASCII digits (what a date field sends)."""
    found = _DAY.fullmatch((text or "").strip())
    if found is None:
        raise BirthdayInvalid()
    try:
        return date(int(found[1]), int(found[2]), int(found[3]))
    except ValueError:
        raise BirthdayInvalid() from None


def parse_sex(text: str) -> str:
    """``male`` / ``female`` → ``M`` / ``F``."""
    sex = SEXES.get((text or "").strip().lower())
    if sex is None:
        raise SexInvalid()
    return sex


def age_on(birthday: date, day: date) -> int:
    """Whole years from ``birthday`` to ``day`` (born on 29 February: a year older on 1 March
    in a common year)."""
    years = day.year - birthday.year
    return years - ((day.month, day.day) < (birthday.month, birthday.day))


def check(number: Ric, *, birthday: date, sex: str, today: date, min_age: int) -> None:
    """The number's date is not in the future, the person is old enough, and the date of birth
    and sex typed agree with the number."""
    if number.birthday > today:
        raise IdNumberInvalid()
    if birthday != number.birthday:
        raise BirthdayMismatch()
    if sex != number.sex:
        raise SexMismatch()
    if age_on(number.birthday, today) < min_age:
        raise TooYoung(years=min_age)
