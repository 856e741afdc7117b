"""The same-run baseline: pgbench (shipped with the embedded server), tpcb-like, 8 clients."""

from __future__ import annotations

import re
import subprocess

from qianbao.ops.embedded_pg import SUPERUSER, EmbeddedPostgres


def run_pgbench(
    pg: EmbeddedPostgres, *, seconds: float, clients: int = 8, scale: int = 10
) -> float:
    pg.ensure_database("pgbench")
    conn = ["-h", str(pg.socket_dir), "-U", SUPERUSER]
    subprocess.run(
        [pg.binary("pgbench"), *conn, "-i", "-q", "-s", str(scale), "pgbench"],
        check=True,
        capture_output=True,
    )
    out = subprocess.run(
        [
            pg.binary("pgbench"),
            *conn,
            "-M",
            "prepared",
            "-c",
            str(clients),
            "-j",
            "2",
            "-T",
            str(max(1, int(seconds))),
            "pgbench",
        ],
        check=True,
        capture_output=True,
        text=True,
    ).stdout
    match = re.search(r"tps = ([0-9.]+)", out)
    if not match:
        raise RuntimeError(f"pgbench printed no tps:\n{out}")
    return float(match.group(1))
