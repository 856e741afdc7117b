"""Bank rails (issue 18): importing a bank statement, and matching its lines to the ledger.

``statement_import_lines_per_s``: a camt.053 of LINES (100,000) entries to the operator's
receiving account, written streamed with ``iter_camt053`` into a temporary file (never held
whole), read back and imported with the real importer (``banking.importer.import_file``) in one
transaction, as the upload, the watched folder and the command do (``banking.inbox.import_one``),
commit included. The lines are what a busy day brings: 90 % transfers whose memo carries a
valid user's reference code (``wallet.bank_reference``) in one of the ways people write it
(credited), 5 % a code with one character mistyped and 2 % no code at all (suspense), 3 % the
bank's charges (booked by rule). USERS (20,000) users with a wallet and a reference code, so
that each reference resolves (about 4.5 credits each, well within the verified tier's top-up
limits).

``statement_import_peak_rss``: the process's resident memory sampled every 10 ms (from
``/proc/self/statm``, in a thread) from just before the file is read until the import has
committed, peak minus the RSS before: what reading and importing the file added. (The
``ru_maxrss`` delta is printed too, as a cross-check; it is 0 when an earlier benchmark in the
same process had a higher peak.)

Baseline, measured in the same run on the same machine: ``statement_parse_lines_per_s``, the same
file's bytes parsed alone (``parse_statement_file``: no database), and pgbench's tps (``make
bench``'s baseline).

``reconcile_lines_per_s``: the rate at which lines are matched to the ledger. The importer has no
separate entry point for it (classification, the reference lookup, the credit, the payout match
and the line's insert are one loop in ``_import_statement``), so it is measured as the import of
a smaller camt.053 (RECONCILE_LINES, 20,000) whose every line is a matching case: 85 % credits
by reference code, 10 % payouts of ours found by their end-to-end id (``banking.payout_lines``:
RECONCILE_LINES // 10 payouts ``accepted`` by the bank, each settled by its line; they stand
alone, with no withdrawal behind them, so the withdrawal's own step is a lookup that finds
nothing), 5 % charges and interest booked by rule. It includes parsing this file (see
``statement_parse_lines_per_s`` for its share) and the commit.

Each import is given up after BUDGET_S (``QIANBAO_BENCH_BANK_BUDGET_S``, 300 s) and rolled back,
so that ``make bench`` ends: the rate is then over the lines taken up until the deadline, and a
``# ...: PARTIAL`` line says so. (The importer used to slow down with every line of a file and
did not finish the 100,000-line file in 300 s; see docs/performance.md, "Bank statements".)

Every import is checked: the counts of credited, booked and suspense lines are those the
generator made, and the ledger's mirror of the receiving account equals the bank's closing
balance. ``QIANBAO_BENCH_BANK_LINES`` / ``QIANBAO_BENCH_BANK_USERS`` change the sizes (a quick
look: ``QIANBAO_BENCH_BANK_LINES=10000``)."""

from __future__ import annotations

import asyncio
import os
import random
import resource
import tempfile
import threading
import time
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any

import asyncpg

from bench.common import BenchContext, emit
from qianbao.kernel.clock import LOCAL_TZ, system_clock
from qianbao.kernel.db import asyncpg_dsn
from qianbao.ops.migrate import upgrade
from qianbao.rails.bankfiles.model import Statement, StatementEntry

DATABASE = "bench_bank"
LINES = int(os.environ.get("QIANBAO_BENCH_BANK_LINES", "100000"))
RECONCILE_LINES = max(1, LINES // 5)
USERS = int(os.environ.get("QIANBAO_BENCH_BANK_USERS", "20000"))
OPENING = 10_000_000_00  # the operator's money in the account before the statement
SAMPLE_MS = 10
# Each import is given up after this long (rolled back; the rate is then over the lines done).
BUDGET_S = float(os.environ.get("QIANBAO_BENCH_BANK_BUDGET_S", "300"))

# Two receiving accounts, one per file: each file is its account's first statement.
ACCOUNTS = {
    "import": {
        "code": "BENCH-ICBC-1",
        "holder_name": "钱包支付科技有限公司",
        "bank_name": "中国工商银行",
        "branch": "北京朝阳支行",
        "account_number": "0200 0012 0920 0168 888",
        "bic": "ICBKCNBJ",
        "currency": "CNY",
    },
    "reconcile": {
        "code": "BENCH-ICBC-2",
        "holder_name": "钱包支付科技有限公司",
        "bank_name": "中国工商银行",
        "branch": "北京朝阳支行",
        "account_number": "0200 0012 0920 0168 999",
        "bic": "ICBKCNBJ",
        "currency": "CNY",
    },
}
NAMES = ["张伟", "王芳", "李娜", "刘洋", "陈静", "杨磊", "赵敏", "黄勇", "周杰", "吴霞", "LI MEI"]
# How people write their code in the memo (read_memo accepts them all).
MEMOS = [
    "钱包充值 {code}",
    "充值{code}",
    "{code}",
    "{name} 转账 {code}",  # not "{code} LI MEI": read_memo takes "QB…LI" as one mistyped code
    "QB充值 {spaced}",
    "{wide}",
]
NO_CODE = ["货款", "还款 / repayment", "转账", "房租 12月", "工资"]


def _settings() -> Any:
    from qianbao.settings import Settings

    return Settings(
        environment="test",
        var_dir=Path(tempfile.mkdtemp()),
        security={"secret_key": "bench-bank-" + "k" * 40},
    )


# -- the data ------------------------------------------------------------------------------------


def _spaced(code: str) -> str:
    return f"{code[:2]} {code[2:6]}-{code[6:]}"


def _wide(code: str) -> str:
    from qianbao.banking.demo import full_width

    return full_width(code)


@dataclass
class Plan:
    """One statement's lines, made again identically on every call of ``entries``."""

    name: str
    lines: int
    day: date
    codes: list[str]
    payouts: list[tuple[str, int]]  # (end-to-end id, amount)
    # (kind, weight); kinds: credit, mistyped, no_code, charge, interest, payout
    mix: list[tuple[str, float]]
    seed: int

    def entries(self) -> Iterator[tuple[str, StatementEntry]]:
        from qianbao.banking.demo import mistype

        rng = random.Random(self.seed)
        kinds = [k for k, _ in self.mix]
        weights = [w for _, w in self.mix]
        payouts = iter(self.payouts)
        for n in range(self.lines):
            kind = rng.choices(kinds, weights)[0]
            if kind == "payout":
                found = next(payouts, None)
                kind = "credit" if found is None else kind
            name = rng.choice(NAMES)
            account = f"62220200{rng.randrange(10**11):011d}"
            common = {
                "line": 0,
                "bank_ref": f"{self.name}{self.day:%Y%m%d}{n:08d}",
                "currency": "CNY",
                "booking_date": self.day,
                "value_date": self.day,
            }
            if kind in ("credit", "mistyped"):
                code = rng.choice(self.codes)
                if kind == "mistyped":
                    code = mistype(code)
                memo = rng.choice(MEMOS).format(
                    code=code, name=name, spaced=_spaced(code), wide=_wide(code)
                )
                entry = StatementEntry(
                    amount=rng.randint(10, 2_000) * 100 + rng.choice([0, 0, 50, 88]),
                    direction="credit",
                    remittance=memo,
                    counterparty_name=name,
                    counterparty_account=account,
                    bank_tx_code="PMNT/RCDT/DMCT",
                    **common,  # type: ignore[arg-type]
                )
            elif kind == "no_code":
                entry = StatementEntry(
                    amount=rng.randint(10, 5_000) * 100,
                    direction="credit",
                    remittance=rng.choice(NO_CODE),
                    counterparty_name=name,
                    counterparty_account=account,
                    bank_tx_code="PMNT/RCDT/DMCT",
                    **common,  # type: ignore[arg-type]
                )
            elif kind == "charge":
                entry = StatementEntry(
                    amount=rng.choice([2_00, 5_00, 15_00]),
                    direction="debit",
                    remittance="跨行转账手续费",
                    bank_tx_code="PMNT/ICDT/CHRG",
                    **common,  # type: ignore[arg-type]
                )
            elif kind == "interest":
                entry = StatementEntry(
                    amount=rng.randint(1, 500),
                    direction="credit",
                    remittance="活期存款利息",
                    bank_tx_code="ACMT/MDOP/INTR",
                    **common,  # type: ignore[arg-type]
                )
            else:  # payout: one of ours left the account
                assert found is not None
                e2e, amount = found
                entry = StatementEntry(
                    amount=amount,
                    direction="debit",
                    remittance=f"钱包提现 {e2e}",
                    end_to_end_id=e2e,
                    counterparty_name=name,
                    counterparty_account=account,
                    bank_tx_code="PMNT/ICDT/DMCT",
                    **common,  # type: ignore[arg-type]
                )
            yield kind, entry

    def expected(self) -> tuple[Counter[str], int]:
        """What the import must find: lines by outcome, and the closing balance."""
        outcome = {
            "credit": "credited",
            "mistyped": "suspense",
            "no_code": "suspense",
            "charge": "booked",
            "interest": "booked",
            "payout": "booked",  # the importer counts a paid-out line as booked
        }
        counts: Counter[str] = Counter()
        closing = OPENING
        for kind, e in self.entries():
            counts[outcome[kind]] += 1
            closing += e.amount if e.direction == "credit" else -e.amount
        return counts, closing


def _write(plan: Plan, account: dict[str, str], path: Path) -> int:
    """The plan as a camt.053 file at ``path``, written chunk by chunk; returns its size."""
    from qianbao.rails.bankfiles.write import iter_camt053

    created = datetime.combine(plan.day + timedelta(days=1), datetime.min.time(), LOCAL_TZ)
    header = Statement(
        kind="camt.053",
        statement_id=f"STMT-{plan.day:%Y%m%d}-{plan.name}",
        account=account["account_number"].replace(" ", ""),
        currency="CNY",
        created_at=created + timedelta(hours=6),
        from_date=plan.day,
        to_date=plan.day,
        opening=OPENING,
        closing=None,
        entries=[],
    )
    size = 0
    with path.open("wb") as fh:
        for chunk in iter_camt053(
            header,
            lambda: (e for _, e in plan.entries()),
            message_id=f"MSG{plan.day:%Y%m%d}{plan.name}",
            created_at=created + timedelta(hours=6),
            account_name=account["holder_name"],
            bic=account["bic"],
        ):
            fh.write(chunk)
            size += len(chunk)
    return size


# -- the database ---------------------------------------------------------------------------------


async def _seed_users(dsn: str, users: int) -> list[str]:
    """``users`` verified users, each with a CNY wallet and a reference code; returns the codes.
    Inserted set-wise (the services would take minutes for 20,000 sign-ups): the rows are those
    the sign-up, ``wallet_account`` and ``reference_of`` write."""
    from qianbao.wallet.bank_reference import new_code

    codes: set[str] = set()
    while len(codes) < users:
        codes.add(new_code())
    conn = await asyncpg.connect(dsn)
    try:
        async with conn.transaction():
            ids = [
                r[0]
                for r in await conn.fetch(
                    """INSERT INTO users (id, phone, password_hash, real_name, kyc_tier)
                       SELECT gen_random_uuid(), '+86135' || lpad(g::text, 8, '0'), 'bench',
                              '测试', 1
                         FROM generate_series(1, $1) g
                       RETURNING id""",
                    users,
                )
            ]
            await conn.execute(
                """INSERT INTO ledger_accounts (currency, kind, owner_id, no_negative, command_key)
                   SELECT 'CNY', 'user_wallet', id, true, 'wallet:' || id || ':CNY'
                     FROM unnest($1::uuid[]) AS id""",
                ids,
            )
            await conn.execute(
                """INSERT INTO wallet_bank_references (user_id, code, created_at)
                   SELECT id, code, now() FROM unnest($1::uuid[], $2::text[]) AS t(id, code)""",
                ids,
                sorted(codes),
            )
            await conn.execute("ANALYZE")
    finally:
        await conn.close()
    return sorted(codes)


async def _seed_payouts(dsn: str, count: int, rng: random.Random) -> list[tuple[str, int]]:
    """``count`` payouts of ours sent in a pain.001 file and accepted by the bank (pain.002),
    waiting for the statement to show them leaving the account."""
    payouts = [(f"QBPO{i:012d}", rng.randint(10, 3_000) * 100) for i in range(count)]
    conn = await asyncpg.connect(dsn)
    try:
        await conn.execute(
            """INSERT INTO bank_payouts (id, reference, end_to_end_id, amount, currency,
                                         account_kind, account_sealed, account_last4, holder_name,
                                         bank_name, status, created_at, updated_at)
               SELECT gen_random_uuid(), 'bench-' || e2e, e2e, amount, 'CNY', 'account',
                      'sealed', '4242', '测试', '中国银行', 'accepted', now(), now()
                 FROM unnest($1::text[], $2::bigint[]) AS t(e2e, amount)""",
            [e for e, _ in payouts],
            [a for _, a in payouts],
        )
    finally:
        await conn.close()
    return payouts


async def _add_accounts(url: str) -> None:
    from qianbao.banking import accounts
    from qianbao.kernel.db import Database

    db = Database(url, pool_size=1, max_overflow=0)
    try:
        async with db.transaction() as s:
            for account in ACCOUNTS.values():
                await accounts.add(s, **account)
    finally:
        await db.dispose()


async def _mirror(dsn: str, code: str) -> int:
    conn = await asyncpg.connect(dsn)
    try:
        return -int(
            await conn.fetchval(
                "SELECT posted FROM ledger_accounts WHERE code = $1", f"bank:{code}"
            )
        )
    finally:
        await conn.close()


# -- measuring ------------------------------------------------------------------------------------


class RssSampler:
    """The process's peak resident memory, sampled every SAMPLE_MS in a thread."""

    def __init__(self) -> None:
        self.page = os.sysconf("SC_PAGE_SIZE")
        self.before = self.peak = self.rss()
        self.stop = threading.Event()
        self.thread = threading.Thread(target=self._run, daemon=True)

    def rss(self) -> int:
        with open("/proc/self/statm") as fh:
            return int(fh.read().split()[1]) * self.page

    def _run(self) -> None:
        while not self.stop.wait(SAMPLE_MS / 1000):
            self.peak = max(self.peak, self.rss())

    def __enter__(self) -> RssSampler:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop.set()
        self.thread.join()
        self.peak = max(self.peak, self.rss())


class OverBudget(Exception):
    """The import ran past BUDGET_S: it is abandoned (its transaction rolled back)."""


@dataclass
class Imported:
    seconds: float
    lines: int  # lines the importer took up (all of them when complete)
    result: Any  # the ImportResult, or None when over budget

    @property
    def complete(self) -> bool:
        return self.result is not None


async def _import(url: str, settings: Any, data: bytes, filename: str) -> Imported:
    """The file's bytes imported in one transaction (as ``inbox.import_one``), committed; or
    given up after BUDGET_S. The importer's ``classify`` (called once per new line) is wrapped
    to count the lines and to stop at the deadline: one Python call more per line."""
    from qianbao.banking import importer
    from qianbao.kernel.db import Database

    classify = importer.classify
    lines = 0
    deadline = float("inf")

    def counted(entry: StatementEntry) -> Any:
        nonlocal lines
        lines += 1
        if time.perf_counter() > deadline:
            raise OverBudget
        return classify(entry)

    db = Database(url, pool_size=1, max_overflow=0, statement_timeout_ms=600_000)
    importer.classify = counted  # type: ignore[assignment]
    try:
        async with db.session() as s:  # a connection ready, as a server's pool has one
            await s.connection()
        t0 = time.perf_counter()
        deadline = t0 + BUDGET_S
        try:
            async with db.transaction() as session:
                result = await importer.import_file(
                    session, settings, data, filename=filename, source="command"
                )
        except OverBudget:
            return Imported(time.perf_counter() - t0, lines - 1, None)
        return Imported(time.perf_counter() - t0, lines, result)
    finally:
        importer.classify = classify
        await db.dispose()


def _check(label: str, plan: Plan, got: Any, expected: Counter[str], mirror: int, closing: int):
    counts = {k: getattr(got, k) for k in ("credited", "booked", "suspense")}
    want = {k: expected.get(k, 0) for k in counts}
    if got.lines != plan.lines or counts != want or mirror != closing:
        raise SystemExit(
            f"bank bench ({label}): imported {got.lines} lines {counts}, expected "
            f"{plan.lines} {want}; ledger mirror {mirror}, bank closing {closing}"
        )
    print(
        f"# {label}: {got.lines:,} lines: credited {got.credited:,}, booked {got.booked:,}, "
        f"suspense {got.suspense:,}; the ledger's mirror equals the closing balance",
        flush=True,
    )


def _outcome(label: str, plan: Plan, done: Imported, dsn: str, account: str) -> float:
    """Check a complete import, or say how far an abandoned one got; the rate either way."""
    if done.complete:
        expected, closing = plan.expected()
        mirror = asyncio.run(_mirror(dsn, account))
        _check(label, plan, done.result, expected, mirror, closing)
        return plan.lines / done.seconds
    print(
        f"# {label}: PARTIAL - not done within {BUDGET_S:.0f} s (QIANBAO_BENCH_BANK_BUDGET_S): "
        f"{done.lines:,} of {plan.lines:,} lines taken up, then abandoned and rolled back; the "
        f"rate below is over those lines only (an import slows down as it goes: see "
        f"docs/performance.md)",
        flush=True,
    )
    return done.lines / done.seconds


def _parse_rate(path: Path) -> float:
    from qianbao.rails.bankfiles.detect import parse_statement_file

    data = path.read_bytes()
    t0 = time.perf_counter()
    [statement] = parse_statement_file(data, path.name)
    elapsed = time.perf_counter() - t0
    return len(statement.entries) / elapsed


def _timed(label: str, t0: float) -> None:
    print(f"# {label}: {time.perf_counter() - t0:.1f} s", flush=True)


def run(ctx: BenchContext) -> None:
    from qianbao.kernel.logging import configure_logging

    configure_logging(level="WARNING", json_logs=True)
    ctx.pg.ensure_database(DATABASE)
    url = ctx.pg.url(DATABASE)
    dsn = asyncpg_dsn(url)
    upgrade(url)
    settings = _settings()
    folder = Path(tempfile.mkdtemp(prefix="qianbao-bench-bank-"))
    try:
        t0 = time.perf_counter()
        codes = asyncio.run(_seed_users(dsn, USERS))
        payouts = asyncio.run(_seed_payouts(dsn, RECONCILE_LINES // 10, random.Random(181)))
        asyncio.run(_add_accounts(url))
        _timed(f"seed ({USERS:,} users with a wallet and a code, {len(payouts):,} payouts)", t0)
        day = system_clock.now().astimezone(LOCAL_TZ).date() - timedelta(days=1)

        # 1. A busy day's statement.
        plan = Plan(
            "A", LINES, day, codes, [],
            [("credit", 90), ("mistyped", 5), ("no_code", 2), ("charge", 3)], seed=180,
        )  # fmt: skip
        t0 = time.perf_counter()
        path = folder / "statement.camt053.xml"
        size = _write(plan, ACCOUNTS["import"], path)
        _timed(f"statement written ({plan.lines:,} lines, {size / 2**20:.0f} MiB)", t0)
        maxrss0 = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
        with RssSampler() as rss:
            data = path.read_bytes()
            done = asyncio.run(_import(url, settings, data, path.name))
            del data
        maxrss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
        rate = _outcome("statement import", plan, done, dsn, ACCOUNTS["import"]["code"])
        parse = _parse_rate(path)
        path.unlink()
        emit("statement_parse_lines_per_s", parse, "lines_per_s")
        emit("statement_import_lines_per_s", rate, "lines_per_s")
        emit("statement_import_peak_rss", (rss.peak - rss.before) / 2**20, "MiB")
        print(
            f"# statement import: {done.seconds:.1f} s for {done.lines:,} lines "
            f"({done.seconds / max(done.lines, 1) * 1e3:.2f} ms a line; parsing the whole file "
            f"alone {plan.lines / parse:.1f} s, import/parse={rate / parse:.4f}, per pgbench "
            f"transaction {rate / ctx.baseline_tps:.3f}); RSS {rss.before / 2**20:.0f} MiB "
            f"before, peak {rss.peak / 2**20:.0f} MiB (sampled every {SAMPLE_MS} ms); ru_maxrss "
            f"delta {(maxrss - maxrss0) / 1024:.0f} MiB",
            flush=True,
        )
        ctx.results["statement_import_lines_per_s"] = rate

        # 2. Reconciliation: every line a match (see the module's docstring).
        recon = Plan(
            "R", RECONCILE_LINES, day, codes, payouts,
            [("credit", 85), ("payout", 10), ("charge", 4), ("interest", 1)], seed=182,
        )  # fmt: skip
        path = folder / "reconcile.camt053.xml"
        _write(recon, ACCOUNTS["reconcile"], path)
        done = asyncio.run(_import(url, settings, path.read_bytes(), path.name))
        path.unlink()
        rate = _outcome("reconcile", recon, done, dsn, ACCOUNTS["reconcile"]["code"])
        emit("reconcile_lines_per_s", rate, "lines_per_s")
        print(
            f"# reconcile: {done.seconds:.1f} s for {done.lines:,} of {recon.lines:,} matching "
            f"lines (85 % credits by reference, {len(payouts):,} payouts by end-to-end id, the "
            f"rest booked by rule), parse and commit included",
            flush=True,
        )
        ctx.results["reconcile_lines_per_s"] = rate
    finally:
        for leftover in folder.glob("*"):
            leftover.unlink()
        folder.rmdir()
        asyncio.run(_drop(ctx))


async def _drop(ctx: BenchContext) -> None:
    conn = await asyncpg.connect(asyncpg_dsn(ctx.pg.url("postgres")))
    try:
        await conn.execute(f"DROP DATABASE IF EXISTS {DATABASE} WITH (FORCE)")
    finally:
        await conn.close()
