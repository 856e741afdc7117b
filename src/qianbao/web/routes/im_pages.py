"""WeChat Official Account and Telegram bot webhooks (E8) and the wallet page that links an
account with a one-time code."""

from __future__ import annotations

from fastapi import APIRouter

from qianbao.kernel.http import TxRoute

router = APIRouter(include_in_schema=False, route_class=TxRoute)
