"""/design: every component of the customer pages' design system on one page, with made-up data,
in the reader's language (docs/design-system.md; the screenshot tests look at it too)."""

from __future__ import annotations

import re
import uuid
from datetime import datetime
from pathlib import Path
from types import SimpleNamespace
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse
from starlette.responses import Response

from qianbao.kernel.clock import LOCAL_TZ
from qianbao.web.icons import SHAPES
from qianbao.web.routes.wallet_pages import NEXT_STEPS
from qianbao.web.templating import render

router = APIRouter(include_in_schema=False)

# The tokens as ds.css defines them (read from it: the page never shows a stale copy).
_CSS = (Path(__file__).resolve().parents[1] / "static" / "css" / "ds.css").read_text("utf-8")
COLOURS = re.findall(r"(--c-[a-z0-9-]+):\s*(#[0-9a-fA-F]{3,8})", _CSS.split("}", 1)[0])
TYPE_SCALE = re.findall(r"(--fs-[a-z0-9]+):", _CSS.split("}", 1)[0])
SPACING = re.findall(r"(--sp-[0-9]+):", _CSS.split("}", 1)[0])

# A fixed moment, so the page (and its screenshot) never changes with the clock.
AT = datetime(2026, 12, 1, 9, 30, tzinfo=LOCAL_TZ)


def _tx(kind: str, direction: str, status: str, amount: int, who: str | None = None) -> Any:
    return SimpleNamespace(
        id=uuid.UUID(int=amount),
        kind=kind,
        direction=direction,
        status=status,
        amount=amount,
        currency="CNY",
        counterparty_name=who,
        counterparty_phone=None,
        listed_at=AT,
        created_at=AT,
        details={"category": "5814"} if kind == "payment" else {},
        note=None,
    )


@router.get("/design", response_class=HTMLResponse)
async def design_page(request: Request) -> Response:
    return render(
        request,
        "design/index.html",
        {
            "colours": COLOURS,
            "type_scale": TYPE_SCALE,
            "spacing": SPACING,
            "icon_names": sorted(SHAPES),
            "balances": [SimpleNamespace(currency="CNY", available=315_700, pending=5_000)],
            "long_balance": [
                SimpleNamespace(currency="CNY", available=123_456_789_012_345_00, pending=0)
            ],
            "rows": [
                _tx("transfer", "in", "completed", 12_800, "Li M."),
                _tx("payment", "out", "completed", 2_200, "钱包咖啡"),
                _tx("topup", "in", "pending", 10_000),
                _tx("withdrawal", "out", "pending", 50_000),
                _tx("topup", "in", "failed", 20_000),
            ],
            "steps": [
                {"title": title, "sub": sub, "done": i == 0}
                for i, (title, sub, _) in enumerate(NEXT_STEPS)
            ],
        },
    )
