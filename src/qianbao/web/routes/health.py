"""Liveness and readiness probes for load balancers and orchestrators."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse

from qianbao.ops.health import readiness

router = APIRouter(tags=["health"])


@router.get("/healthz", summary="Liveness: the process answers")
async def healthz() -> dict[str, str]:
    return {"status": "ok"}


@router.get("/readyz", summary="Readiness: the database answers and the schema is current")
async def readyz(request: Request) -> JSONResponse:
    report = await readiness(request.app.state.db, request.app.state.schema_head)
    worker = getattr(request.app.state, "worker", None)
    # The in-process worker's health is reported, not gated on: pages and the API still serve
    # while it retries (jobs wait in the queue); "stopped" means it is gone for good.
    report["worker"] = worker.health() if worker is not None else {"status": "separate"}
    # Admission control: requests in flight now, the limit, and how many were shed (503).
    gate = getattr(request.app.state, "admission", None)
    if gate is not None:
        report["admission"] = gate.report()
    if report["worker"]["status"] == "stopped":
        report["status"] = "unavailable"
    return JSONResponse(report, status_code=200 if report["status"] == "ok" else 503)
