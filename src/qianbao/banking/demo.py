"""Demo bank rails for `make run` (idempotent): the operator's receiving account, and two
statement files for an operator to import in /ops/bank (they are not imported here: importing
them is the demo). Written to ``var/bank/demo/`` with the demo users' real reference codes:

- ``<day>-camt053.xml``, yesterday's end-of-day statement: 张三's transfer of ¥500.00 with his
  code in the memo (credited), a transfer of ¥200.00 whose code has one character wrong (to
  suspense; match it by hand to 张三 — 13800138000), the month's interest and a bank charge
  (booked by rule);
- ``<day>-mt940.sta``, today's statement in MT940, continuing from yesterday's closing balance:
  Li Mei's transfer of ¥88.00 with her code typed in full-width characters with spaces
  (credited: the code's check character confirms it).
"""

from __future__ import annotations

from datetime import datetime, time, timedelta
from pathlib import Path

from qianbao.banking import accounts
from qianbao.demo import DemoLogin, demo_loader
from qianbao.identity.accounts import by_phone
from qianbao.kernel.clock import LOCAL_TZ
from qianbao.kernel.db import Database
from qianbao.rails.bankfiles.model import Statement, StatementEntry
from qianbao.rails.bankfiles.write import camt053, mt940
from qianbao.wallet.bank_reference import ALPHABET, reference_of

ACCOUNT = {
    "code": "ICBC-CNY-1",
    "holder_name": "钱包支付科技有限公司",
    "bank_name": "中国工商银行",
    "branch": "北京朝阳支行",
    "account_number": "0200 0012 0920 0168 888",
    "bic": "ICBKCNBJ",
    "currency": "CNY",
}
OPENING = 1_000_000_00  # the operator's own money in the account before the demo


def mistype(code: str) -> str:
    """The code with one character typed wrong (its check fails)."""
    i = 4
    wrong = next(c for c in ALPHABET if c != code[i])
    return code[:i] + wrong + code[i + 1 :]


def full_width(code: str) -> str:
    """The code as typed with a Chinese input method in full-width mode, with spaces."""
    wide = "".join(chr(ord(c) + 0xFEE0) for c in code)
    return f"{wide[:2]}\u3000{wide[2:6]} {wide[6:]}"


def _entry(
    n: int, day: datetime, amount: int, direction: str, memo: str, **kw: object
) -> StatementEntry:
    return StatementEntry(
        line=0,
        bank_ref=f"ICBC{day:%Y%m%d}{n:06d}",
        amount=amount,
        direction=direction,  # type: ignore[arg-type]
        currency="CNY",
        booking_date=day.date(),
        value_date=day.date(),
        remittance=memo,
        **kw,  # type: ignore[arg-type]
    )


@demo_loader("banking", order=40)
async def load(db: Database) -> list[DemoLogin]:
    from qianbao.settings import get_settings

    settings = get_settings()
    now = db.clock.now().astimezone(LOCAL_TZ)
    today = datetime.combine(now.date(), time(9, 0), tzinfo=LOCAL_TZ)
    yesterday = today - timedelta(days=1)
    async with db.transaction() as session:
        await accounts.add(session, **ACCOUNT)
        zhang = await by_phone(session, "+8613800138000")
        li = await by_phone(session, "+8613900139000")
        if zhang is None or li is None:
            return []
        zhang_code = await reference_of(session, zhang.id)
        li_code = await reference_of(session, li.id)
    folder = Path(settings.var_dir) / "bank" / "demo"
    folder.mkdir(parents=True, exist_ok=True)
    first = folder / f"{yesterday:%Y%m%d}-camt053.xml"
    second = folder / f"{today:%Y%m%d}-mt940.sta"
    if first.exists() and second.exists():
        return [_login(folder)]
    lines1 = [
        _entry(1, yesterday, 500_00, "credit", f"钱包充值 {zhang_code}",
               counterparty_name="张三", counterparty_account="6222020000000004242",
               bank_tx_code="PMNT/RCDT/DMCT"),
        _entry(2, yesterday, 200_00, "credit", f"充值 {mistype(zhang_code)}",
               counterparty_name="张三", counterparty_account="6222020000000004242",
               bank_tx_code="PMNT/RCDT/DMCT"),
        _entry(3, yesterday, 123_45, "credit", "利息 / interest",
               bank_tx_code="ACMT/MDOP/INTR"),
        _entry(4, yesterday, 15_00, "debit", "账户管理费 / account fee",
               bank_tx_code="ACMT/MDOP/CHRG"),
    ]  # fmt: skip
    closing1 = OPENING + sum(e.amount if e.direction == "credit" else -e.amount for e in lines1)
    st1 = Statement(
        kind="camt.053",
        statement_id=f"STMT-{yesterday:%Y%m%d}-0168888",
        account=ACCOUNT["account_number"].replace(" ", ""),
        currency="CNY",
        created_at=yesterday + timedelta(hours=14),
        from_date=yesterday.date(),
        to_date=yesterday.date(),
        opening=OPENING,
        closing=closing1,
        entries=lines1,
    )
    lines2 = [
        _entry(1, today, 88_00, "credit", f"充值{full_width(li_code)}",
               counterparty_name="LI MEI", counterparty_account="6222020000000004242",
               bank_tx_code="NTRF"),
    ]  # fmt: skip
    st2 = Statement(
        kind="mt940",
        statement_id=f"{today:%Y%m%d}/1",
        account=ACCOUNT["account_number"].replace(" ", ""),
        currency="CNY",
        created_at=None,
        from_date=today.date(),
        to_date=today.date(),
        opening=closing1,
        closing=closing1 + 88_00,
        entries=lines2,
    )
    first.write_bytes(
        camt053(
            st1,
            message_id=f"MSG{yesterday:%Y%m%d}0168888",
            created_at=yesterday + timedelta(hours=14),
            account_name=ACCOUNT["holder_name"],
            bic=ACCOUNT["bic"],
        )
    )
    second.write_bytes(mt940(st2))
    return [_login(folder)]


def _login(folder: Path) -> DemoLogin:
    return DemoLogin(
        role="bank statements",
        login=str(folder),
        password="",
        note="import them at /ops/bank (supervisor 13600136000; approvals: admin 13300133000)",
    )
