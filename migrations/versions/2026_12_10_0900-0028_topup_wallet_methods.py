"""top-ups by Alipay and WeChat Pay: a top-up without a card, its fee, a clearing account per rail

Revision ID: 0028
Revises: 0027

Alipay and WeChat Pay top-ups (B4) have no bound card (``card_id`` may be empty) and may carry a
fee the user pays on top of the amount (``fee``; the provider collects amount + fee). The money
collected waits at the provider until it settles to the operator's bank, so each rail gets its
own clearing account per currency (kind bank_clearing, code ``alipay`` / ``wechatpay``).
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0028"
down_revision: str | None = "0027"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

RAILS = ("alipay", "wechatpay")


def upgrade() -> None:
    for code in RAILS:
        op.execute(
            "INSERT INTO ledger_accounts (currency, kind, code, no_negative) "
            f"SELECT c.code, 'bank_clearing', '{code}', false FROM ledger_currencies c "
            "WHERE NOT EXISTS (SELECT 1 FROM ledger_accounts a WHERE a.owner_id IS NULL "
            f"AND a.kind = 'bank_clearing' AND a.currency = c.code AND a.code = '{code}') "
            "ORDER BY c.code"
        )
    op.alter_column("wallet_topups", "card_id", existing_type=sa.UUID(), nullable=True)
    op.add_column(
        "wallet_topups", sa.Column("fee", sa.BigInteger(), server_default="0", nullable=False)
    )
    op.create_check_constraint(
        op.f("ck_wallet_topups_fee_not_negative"), "wallet_topups", "fee >= 0"
    )


def downgrade() -> None:
    op.drop_constraint("ck_wallet_topups_fee_not_negative", "wallet_topups", type_="check")
    op.drop_column("wallet_topups", "fee")
    # Fails while a top-up without a card exists: those belong to the rails this removes.
    op.alter_column("wallet_topups", "card_id", existing_type=sa.UUID(), nullable=False)
