"""Where cash agents are, for the "nearest points" finder (B5): distances on the sphere, the
districts a customer may type (with an approximate centre each — shipped here, no map service
is asked), and opening hours in China time."""

from __future__ import annotations

import math
import re
import unicodedata
from dataclasses import dataclass
from datetime import datetime, time
from decimal import Decimal
from typing import Any

from qianbao.kernel.clock import LOCAL_TZ

EARTH_RADIUS_KM = 6371.0088


@dataclass(frozen=True)
class District:
    city_zh: str
    city_en: str
    zh: str
    en: str
    lat: float
    lon: float


# Approximate centres (the district government's area), enough to sort agents by distance.
DISTRICTS = tuple(
    District(*row)
    for row in (
        ("上海", "Shanghai", "黄浦区", "Huangpu", 31.2317, 121.4846),
        ("上海", "Shanghai", "徐汇区", "Xuhui", 31.1885, 121.4365),
        ("上海", "Shanghai", "长宁区", "Changning", 31.2204, 121.4244),
        ("上海", "Shanghai", "静安区", "Jing'an", 31.2290, 121.4480),
        ("上海", "Shanghai", "普陀区", "Putuo", 31.2490, 121.3960),
        ("上海", "Shanghai", "虹口区", "Hongkou", 31.2646, 121.5052),
        ("上海", "Shanghai", "杨浦区", "Yangpu", 31.2596, 121.5260),
        ("上海", "Shanghai", "浦东新区", "Pudong", 31.2215, 121.5447),
        ("上海", "Shanghai", "闵行区", "Minhang", 31.1128, 121.3817),
        ("上海", "Shanghai", "宝山区", "Baoshan", 31.4045, 121.4893),
        ("上海", "Shanghai", "嘉定区", "Jiading", 31.3747, 121.2655),
        ("上海", "Shanghai", "松江区", "Songjiang", 31.0321, 121.2277),
        ("上海", "Shanghai", "青浦区", "Qingpu", 31.1497, 121.1241),
        ("上海", "Shanghai", "奉贤区", "Fengxian", 30.9180, 121.4740),
        ("上海", "Shanghai", "金山区", "Jinshan", 30.7420, 121.3416),
        ("上海", "Shanghai", "崇明区", "Chongming", 31.6230, 121.3970),
        ("北京", "Beijing", "东城区", "Dongcheng", 39.9288, 116.4160),
        ("北京", "Beijing", "西城区", "Xicheng", 39.9123, 116.3660),
        ("北京", "Beijing", "朝阳区", "Chaoyang", 39.9215, 116.4434),
        ("北京", "Beijing", "海淀区", "Haidian", 39.9593, 116.2983),
        ("北京", "Beijing", "丰台区", "Fengtai", 39.8585, 116.2870),
        ("北京", "Beijing", "石景山区", "Shijingshan", 39.9056, 116.2229),
        ("北京", "Beijing", "通州区", "Tongzhou", 39.9097, 116.6566),
    )
)
_SUFFIXES = ("新区", "区", " district", "district")
_COORD = re.compile(r"-?[0-9]{1,3}(?:\.[0-9]{1,7})?")


def _plain(text: str) -> str:
    """A typed name brought to one form: NFKC (full-width), lower case, no spaces, apostrophes
    or a trailing 区 / district."""
    out = unicodedata.normalize("NFKC", text or "").strip().lower()
    out = out.replace("'", "").replace("’", "").replace(" ", "").replace("-", "")
    for suffix in _SUFFIXES:
        s = suffix.replace(" ", "")
        if out.endswith(s) and len(out) > len(s):
            out = out[: -len(s)]
            break
    return out


def find_district(text: str) -> District | None:
    """The district a customer typed ("徐汇", "徐汇区", "xuhui", "Jing'an", "jingan")."""
    wanted = _plain(text)
    if not wanted:
        return None
    for d in DISTRICTS:
        if wanted in (_plain(d.zh), _plain(d.en)):
            return d
    for d in DISTRICTS:  # "上海徐汇" or "Xuhui, Shanghai"
        if _plain(d.zh) in wanted or _plain(d.en) in wanted:
            return d
    return None


def parse_coordinate(text: str, limit: int) -> float | None:
    """A latitude (limit 90) or longitude (limit 180) in decimal degrees, ASCII digits only."""
    raw = (text or "").strip()
    if not _COORD.fullmatch(raw):
        return None
    value = float(Decimal(raw))
    return value if -limit <= value <= limit else None


def distance_km(lat1: float, lon1: float, lat2: float, lon2: float) -> float:
    """The great-circle distance (haversine)."""
    p1, p2 = math.radians(lat1), math.radians(lat2)
    dp, dl = p2 - p1, math.radians(lon2 - lon1)
    a = math.sin(dp / 2) ** 2 + math.cos(p1) * math.cos(p2) * math.sin(dl / 2) ** 2
    return 2 * EARTH_RADIUS_KM * math.asin(min(1.0, math.sqrt(a)))


def _clock(text: str) -> time:
    hour, minute = text.split(":")
    return time(int(hour) % 24, int(minute))


def is_open(hours: list[Any], at: datetime) -> bool:
    """Open at ``at`` (China time) by the weekly hours (Monday first; ``None``: closed; a close
    at or before the opening means past midnight, "24:00" is midnight)."""
    local = at.astimezone(LOCAL_TZ)
    today = hours[local.weekday()] if len(hours) == 7 else None
    now = local.time()
    if today:
        start, end = _clock(today[0]), _clock(today[1])
        if start < end and start <= now < end:
            return True
        if end <= start and (now >= start or now < end):
            return True
    yesterday = hours[(local.weekday() - 1) % 7] if len(hours) == 7 else None
    if yesterday:
        start, end = _clock(yesterday[0]), _clock(yesterday[1])
        if end <= start and now < end:
            return True
    return False


def parse_hours(text: str) -> list[Any]:
    """Weekly hours from "09:00-21:00" (every day) or seven comma-separated items, each
    "HH:MM-HH:MM" or "closed"."""
    items = [p.strip() for p in (text or "").split(",")]
    if len(items) == 1:
        items = items * 7
    if len(items) != 7:
        raise ValueError("seven days")
    out: list[Any] = []
    for item in items:
        if item.lower() in ("closed", "休息", "-"):
            out.append(None)
            continue
        m = re.fullmatch(r"([0-9]{2}):([0-9]{2})-([0-9]{2}):([0-9]{2})", item)
        if m is None or int(m.group(1)) > 23 or int(m.group(3)) > 24:
            raise ValueError(item)
        if int(m.group(2)) > 59 or int(m.group(4)) > 59:
            raise ValueError(item)
        out.append([f"{m.group(1)}:{m.group(2)}", f"{m.group(3)}:{m.group(4)}"])
    return out
