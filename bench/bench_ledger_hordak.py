"""django-hordak 2.0.0 doing the W1 work, on the same server, as the >= 10x comparison."""

from __future__ import annotations

import re
import subprocess
import sys

from bench.common import BenchContext, emit


def run(ctx: BenchContext) -> None:
    ctx.pg.ensure_database("bench_hordak")
    out = subprocess.run(
        [
            sys.executable,
            "-m",
            "bench.hordak_worker",
            "--dsn",
            ctx.pg.url("bench_hordak"),
            "--seconds",
            str(ctx.seconds),
        ],
        capture_output=True,
        text=True,
        check=False,
        timeout=600,
    )
    match = re.search(r"HORDAK_TPS ([0-9.]+)", out.stdout)
    if not match:
        print(f"# hordak baseline failed:\n{out.stdout}\n{out.stderr[-3000:]}", flush=True)
        return
    tps = float(match.group(1))
    emit("hordak_tps", tps, "tps")
    w1 = ctx.results.get("w1_tps")
    if w1:
        print(f"# ratio: w1/hordak={w1 / tps:.1f} (target 10)", flush=True)
