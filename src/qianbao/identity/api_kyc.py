"""The identity verification API (A8): tiers, tier 1 and tier 2 applications."""

from __future__ import annotations

from fastapi import APIRouter

from qianbao.kernel.http import TxRoute

router = APIRouter(
    prefix="/api/v1/me/verification", tags=["identity verification"], route_class=TxRoute
)
