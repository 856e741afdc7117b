"""Issue 20: how well the help search finds the article that answers a customer's question, on
the public evaluation set (``bench/data/help_questions.toml``: Chinese and English, typos,
pinyin, colloquial, scam stories). Prints ``BENCH help_top1`` and ``BENCH help_top3`` (the share
of questions whose article is first / among the first three; targets 0.85 and 0.95) and
``BENCH help_p99_ms`` (one search, warm; target < 100 ms), and each miss as a ``MISS`` line.

Run alone: ``make bench BENCH_ARGS="--only bench_help"``."""

from __future__ import annotations

import asyncio
import time
import tomllib
from pathlib import Path
from typing import Any

from bench.common import BenchContext, emit, percentile
from qianbao.ops.migrate import upgrade

QUESTIONS = Path(__file__).parent / "data" / "help_questions.toml"


def questions() -> list[dict[str, str]]:
    return list(tomllib.loads(QUESTIONS.read_text(encoding="utf-8"))["q"])


async def evaluate(url: str) -> tuple[float, float, list[float], list[str]]:
    from qianbao.kernel.db import Database
    from qianbao.support.helpcenter import ranking, service

    db = Database(url, pool_size=2)
    try:
        async with db.transaction() as s:
            await service.prepare(s)
        top1 = top3 = 0
        times: list[float] = []
        misses: list[str] = []
        qs = questions()
        async with db.transaction() as s:
            await ranking.search(s, "warm up", "zh_CN", 3)
            for q in qs:
                started = time.perf_counter()
                hits: list[Any] = await ranking.search(s, q["text"], q["locale"], 3)
                times.append((time.perf_counter() - started) * 1000)
                slugs = [h.article.slug for h in hits]
                top1 += slugs[:1] == [q["slug"]]
                if q["slug"] in slugs:
                    top3 += 1
                else:
                    misses.append(f"{q['locale']} {q['text']!r} → {q['slug']} (got {slugs})")
        return top1 / len(qs), top3 / len(qs), sorted(times), misses
    finally:
        await db.dispose()


def run(ctx: BenchContext) -> None:
    ctx.pg.ensure_database("bench_help")
    url = ctx.pg.url("bench_help")
    upgrade(url)
    top1, top3, times, misses = asyncio.run(evaluate(url))
    print(f"help search: {len(questions())} questions ({QUESTIONS.name})", flush=True)
    for line in misses:
        print("MISS", line, flush=True)
    emit("help_top1", top1, "share")
    emit("help_top3", top3, "share")
    emit("help_p99_ms", percentile(times, 99), "ms")
