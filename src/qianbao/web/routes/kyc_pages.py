"""Identity verification pages for customers (A8)."""

from __future__ import annotations

from fastapi import APIRouter

from qianbao.kernel.http import TxRoute

router = APIRouter(include_in_schema=False, route_class=TxRoute)
