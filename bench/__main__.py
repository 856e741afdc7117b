"""`make bench`: benchmarks that print `BENCH <name> <value> <unit>` lines.

Every figure is printed next to a baseline measured in the same run on the same throwaway
PostgreSQL server (these machines are noisy): `pgbench_tps`, pgbench's tpcb-like workload with 8
clients and prepared statements.
"""

from __future__ import annotations

import argparse
import importlib
import os
import pkgutil
import sys
import tempfile
from pathlib import Path

from bench.common import BenchContext, emit
from bench.pgbench import run_pgbench
from qianbao.ops.embedded_pg import EmbeddedPostgres


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="make bench")
    parser.add_argument("--seconds", type=float, default=15.0, help="duration of each timed run")
    parser.add_argument("--only", default="", help="comma-separated benchmark modules to run")
    args = parser.parse_args(argv)

    folder = Path(tempfile.mkdtemp(prefix="qianbao-bench-"))
    conf = {"max_connections": "300"}
    if os.environ.get("QIANBAO_BENCH_PG_STATEMENTS"):  # where PostgreSQL's time goes (cpu.py)
        conf.update(
            shared_preload_libraries="pg_stat_statements",
            compute_query_id="on",
            **{"pg_stat_statements.track_planning": "on"},
        )
    pg = EmbeddedPostgres(folder / "pg", extra_conf=conf)
    pg.start()
    try:
        ctx = BenchContext(pg=pg, seconds=args.seconds)
        tps = run_pgbench(pg, seconds=args.seconds)
        emit("pgbench_tps", tps, "tps")
        ctx.baseline_tps = tps
        wanted = {name for name in args.only.split(",") if name}
        for info in sorted(
            pkgutil.iter_modules([str(Path(__file__).parent)]), key=lambda m: m.name
        ):
            if not info.name.startswith("bench_") or (wanted and info.name not in wanted):
                continue
            module = importlib.import_module(f"bench.{info.name}")
            module.run(ctx)
    finally:
        pg.destroy()
    return 0


if __name__ == "__main__":
    sys.exit(main())
