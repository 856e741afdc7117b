"""The spending insights and budgets API (B13)."""

from __future__ import annotations

from fastapi import APIRouter

from qianbao.kernel.http import TxRoute

router = APIRouter(prefix="/api/v1/wallet", tags=["insights and budgets"], route_class=TxRoute)
