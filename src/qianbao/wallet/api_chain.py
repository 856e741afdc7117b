"""The USDT-on-chain API: deposit addresses, deposits, withdrawals to an address."""

from __future__ import annotations

from fastapi import APIRouter

from qianbao.kernel.http import TxRoute

router = APIRouter(prefix="/api/v1/wallet/chain", tags=["usdt"], route_class=TxRoute)
