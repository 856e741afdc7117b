"""The console's identity verification review (A8): approve, reject, ask for a new photo."""

from __future__ import annotations

from fastapi import APIRouter

from qianbao.kernel.http import TxRoute

router = APIRouter(include_in_schema=False, route_class=TxRoute)
