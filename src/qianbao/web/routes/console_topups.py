"""Stuck top-ups in the console: re-query at the provider, credit by hand with a second approver."""

from __future__ import annotations

from fastapi import APIRouter

from qianbao.kernel.http import TxRoute

router = APIRouter(include_in_schema=False, route_class=TxRoute)
