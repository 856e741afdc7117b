"""Spending insights (charts by category and month) and budgets (B13)."""

from __future__ import annotations

from fastapi import APIRouter

from qianbao.kernel.http import TxRoute

router = APIRouter(include_in_schema=False, route_class=TxRoute)
