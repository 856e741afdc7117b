"""bank rails: receiving accounts, users' transfer references, imported statements and their lines

Revision ID: 0027
Revises: 0026

A user tops up by a bank transfer to one of the operator's receiving accounts with a personal
reference in the memo (B3). The operator imports the accounts' statements (camt.053, camt.054,
MT940; F3): each file once (its SHA-256), each statement once (the bank's statement id per
account), each line once (the bank's reference per account). A line is credited to the wallet
its reference names, booked by rule (bank charges, interest), or parked in suspense for an
operator (F4). Each receiving account has its own ledger account mirroring the bank's balance
(kind bank_clearing, code ``bank:<code>``, opened with the receiving account); the system chart
gains, per currency, the bank-transfer suspense and the operator's bank charges and interest.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql as pg

revision: str = "0027"
down_revision: str | None = "0026"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

SYSTEM = [("suspense", "bank_transfer"), ("equity", "bank_charges"), ("equity", "bank_interest")]


def upgrade() -> None:
    for kind, code in SYSTEM:
        op.execute(
            "INSERT INTO ledger_accounts (currency, kind, code, no_negative) "
            f"SELECT c.code, '{kind}', '{code}', false FROM ledger_currencies c "
            "WHERE NOT EXISTS (SELECT 1 FROM ledger_accounts a WHERE a.owner_id IS NULL "
            f"AND a.kind = '{kind}' AND a.currency = c.code AND a.code = '{code}') ORDER BY c.code"
        )
    op.create_table(
        "bank_receiving_accounts",
        sa.Column("id", pg.UUID(as_uuid=True), primary_key=True),
        sa.Column("code", sa.String(24), nullable=False),
        sa.Column("holder_name", sa.String(140), nullable=False),
        sa.Column("bank_name", sa.String(140), nullable=False),
        sa.Column("branch", sa.String(140)),
        sa.Column("account_number", sa.String(40), nullable=False),
        sa.Column("bic", sa.String(11)),
        sa.Column("currency", sa.String(8), nullable=False),
        # How the bank names the account in its statements (IBAN, Othr/Id or :25:), compacted.
        sa.Column("statement_id", sa.String(64), nullable=False),
        sa.Column("ledger_account_id", sa.BigInteger, nullable=False),
        sa.Column("active", sa.Boolean, nullable=False, server_default=sa.true()),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.UniqueConstraint("code", name=op.f("uq_bank_receiving_accounts_code")),
        sa.UniqueConstraint("statement_id", name=op.f("uq_bank_receiving_accounts_statement_id")),
    )
    op.create_table(
        "wallet_bank_references",
        sa.Column("user_id", pg.UUID(as_uuid=True), primary_key=True),
        sa.Column("code", sa.String(16), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.UniqueConstraint("code", name=op.f("uq_wallet_bank_references_code")),
    )
    op.create_table(
        "bank_statement_files",
        sa.Column("id", pg.UUID(as_uuid=True), primary_key=True),
        sa.Column("sha256", sa.String(64), nullable=False),
        sa.Column("filename", sa.String(255), nullable=False),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("size", sa.BigInteger, nullable=False),
        sa.Column("source", sa.String(16), nullable=False),
        sa.Column("imported_by", pg.UUID(as_uuid=True)),
        sa.Column("statements", sa.Integer, nullable=False),
        sa.Column("lines", sa.Integer, nullable=False),
        sa.Column("lines_new", sa.Integer, nullable=False),
        sa.Column("imported_at", sa.DateTime(timezone=True), nullable=False),
        sa.UniqueConstraint("sha256", name=op.f("uq_bank_statement_files_sha256")),
        sa.CheckConstraint(
            "source IN ('upload', 'folder', 'command', 'demo')",
            name=op.f("ck_bank_statement_files_source_known"),
        ),
    )
    op.create_table(
        "bank_statements",
        sa.Column("id", pg.UUID(as_uuid=True), primary_key=True),
        sa.Column("file_id", pg.UUID(as_uuid=True), nullable=False),
        sa.Column("receiving_account_id", pg.UUID(as_uuid=True), nullable=False),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("bank_statement_id", sa.String(140), nullable=False),
        sa.Column("currency", sa.String(8), nullable=False),
        sa.Column("from_date", sa.Date),
        sa.Column("to_date", sa.Date),
        sa.Column("opening", sa.BigInteger),
        sa.Column("closing", sa.BigInteger),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["file_id"],
            ["bank_statement_files.id"],
            name=op.f("fk_bank_statements_file_id_bank_statement_files"),
        ),
        sa.ForeignKeyConstraint(
            ["receiving_account_id"],
            ["bank_receiving_accounts.id"],
            name=op.f("fk_bank_statements_receiving_account_id_bank_receiving_accounts"),
        ),
        sa.UniqueConstraint(
            "receiving_account_id",
            "kind",
            "bank_statement_id",
            name=op.f("uq_bank_statements_receiving_account_id_kind_bank_statement_id"),
        ),
    )
    op.create_table(
        "bank_statement_lines",
        sa.Column("id", pg.UUID(as_uuid=True), primary_key=True),
        sa.Column("statement_id", pg.UUID(as_uuid=True), nullable=False),
        sa.Column("receiving_account_id", pg.UUID(as_uuid=True), nullable=False),
        sa.Column("bank_ref", sa.String(140), nullable=False),
        sa.Column("line_no", sa.Integer, nullable=False),
        sa.Column("direction", sa.String(6), nullable=False),
        sa.Column("amount", sa.BigInteger, nullable=False),
        sa.Column("currency", sa.String(8), nullable=False),
        sa.Column("booking_date", sa.Date, nullable=False),
        sa.Column("value_date", sa.Date),
        sa.Column("remittance", sa.Text, nullable=False),
        sa.Column("end_to_end_id", sa.String(64)),
        sa.Column("counterparty_name", sa.String(140)),
        sa.Column("counterparty_account_last4", sa.String(4)),
        sa.Column("counterparty_account_sealed", sa.Text),
        sa.Column("bank_tx_code", sa.String(64)),
        sa.Column("reversal", sa.Boolean, nullable=False, server_default=sa.false()),
        # credited (to the wallet its reference names) | booked (by a rule: charges, interest)
        # | suspense (waiting for an operator) | resolved (an operator matched or booked it)
        sa.Column("status", sa.String(12), nullable=False),
        sa.Column("reason", sa.String(32)),  # why it is in suspense
        sa.Column("reference", sa.String(16)),  # the reference code read from the memo, if any
        sa.Column("user_id", pg.UUID(as_uuid=True)),  # whose wallet was credited
        sa.Column("wallet_transaction_id", pg.UUID(as_uuid=True)),
        sa.Column("resolution", sa.String(16)),  # matched | booked
        sa.Column("resolution_note", sa.String(500)),
        sa.Column("proposal", pg.JSONB),  # an action waiting for a second operator (four-eyes)
        sa.Column("proposed_by", pg.UUID(as_uuid=True)),
        sa.Column("proposed_at", sa.DateTime(timezone=True)),
        sa.Column("resolved_by", pg.UUID(as_uuid=True)),
        sa.Column("approved_by", pg.UUID(as_uuid=True)),
        sa.Column("resolved_at", sa.DateTime(timezone=True)),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["statement_id"],
            ["bank_statements.id"],
            name=op.f("fk_bank_statement_lines_statement_id_bank_statements"),
        ),
        sa.UniqueConstraint(
            "receiving_account_id",
            "bank_ref",
            name=op.f("uq_bank_statement_lines_receiving_account_id_bank_ref"),
        ),
        sa.CheckConstraint("amount > 0", name=op.f("ck_bank_statement_lines_amount_positive")),
        sa.CheckConstraint(
            "direction IN ('credit', 'debit')", name=op.f("ck_bank_statement_lines_direction_known")
        ),
        sa.CheckConstraint(
            "status IN ('credited', 'booked', 'paid_out', 'returned', 'suspense', 'resolved')",
            name=op.f("ck_bank_statement_lines_status_known"),
        ),
    )
    op.create_index(
        "ix_bank_lines_suspense",
        "bank_statement_lines",
        ["created_at"],
        postgresql_where=sa.text("status = 'suspense'"),
    )
    op.create_index("ix_bank_lines_statement", "bank_statement_lines", ["statement_id", "line_no"])
    op.create_index(
        "ix_bank_lines_user",
        "bank_statement_lines",
        ["user_id"],
        postgresql_where=sa.text("user_id IS NOT NULL"),
    )

    op.create_table(
        "bank_payouts",
        sa.Column("id", pg.UUID(as_uuid=True), primary_key=True),
        sa.Column("reference", sa.String(64), nullable=False),
        sa.Column("end_to_end_id", sa.String(35), nullable=False),
        sa.Column("amount", sa.BigInteger, nullable=False),
        sa.Column("currency", sa.String(8), nullable=False),
        sa.Column("account_kind", sa.String(8), nullable=False),
        sa.Column("account_sealed", sa.Text, nullable=False),
        sa.Column("account_last4", sa.String(4), nullable=False),
        sa.Column("holder_name", sa.String(140), nullable=False),
        sa.Column("bank_name", sa.String(140), nullable=False),
        sa.Column("status", sa.String(12), nullable=False, server_default="queued"),
        sa.Column("reason", sa.Text),
        sa.Column("reason_code", sa.String(8)),
        sa.Column("batch_id", pg.UUID(as_uuid=True)),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.UniqueConstraint("reference", name=op.f("uq_bank_payouts_reference")),
        sa.UniqueConstraint("end_to_end_id", name=op.f("uq_bank_payouts_end_to_end_id")),
        sa.CheckConstraint(
            "status IN ('queued', 'batched', 'released', 'accepted', 'settled', 'rejected', "
            "'returned')",
            name=op.f("ck_bank_payouts_status_known"),
        ),
        sa.CheckConstraint("amount > 0", name=op.f("ck_bank_payouts_amount_positive")),
    )
    op.create_index("ix_bank_payouts_status", "bank_payouts", ["status", "currency", "created_at"])
    op.create_table(
        "bank_payout_batches",
        sa.Column("id", pg.UUID(as_uuid=True), primary_key=True),
        sa.Column("receiving_account_id", pg.UUID(as_uuid=True), nullable=False),
        sa.Column("currency", sa.String(8), nullable=False),
        sa.Column("message_id", sa.String(35), nullable=False),
        sa.Column("status", sa.String(12), nullable=False),
        sa.Column("count", sa.Integer, nullable=False),
        sa.Column("control_sum", sa.BigInteger, nullable=False),
        sa.Column("execution_date", sa.Date, nullable=False),
        sa.Column("document", sa.Text, nullable=False),
        sa.Column("sha256", sa.String(64), nullable=False),
        sa.Column("created_by", pg.UUID(as_uuid=True), nullable=False),
        sa.Column("approved_by", pg.UUID(as_uuid=True)),
        sa.Column("released_by", pg.UUID(as_uuid=True)),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("approved_at", sa.DateTime(timezone=True)),
        sa.Column("released_at", sa.DateTime(timezone=True)),
        sa.UniqueConstraint("message_id", name=op.f("uq_bank_payout_batches_message_id")),
        sa.CheckConstraint(
            "status IN ('draft', 'approved', 'released', 'cancelled')",
            name=op.f("ck_bank_payout_batches_status_known"),
        ),
    )
    op.create_table(
        "bank_safeguarding_reports",
        sa.Column("id", pg.UUID(as_uuid=True), primary_key=True),
        sa.Column("day", sa.Date, nullable=False),
        sa.Column("currency", sa.String(8), nullable=False),
        sa.Column("figures", pg.JSONB, nullable=False),
        sa.Column("unexplained", sa.BigInteger, nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.UniqueConstraint(
            "day", "currency", name=op.f("uq_bank_safeguarding_reports_day_currency")
        ),
    )


def downgrade() -> None:
    op.drop_table("bank_safeguarding_reports")
    op.drop_table("bank_payout_batches")
    op.drop_table("bank_payouts")
    op.drop_table("bank_statement_lines")
    op.drop_table("bank_statements")
    op.drop_table("bank_statement_files")
    op.drop_table("wallet_bank_references")
    op.drop_table("bank_receiving_accounts")
    # The system accounts stay if they moved money (the ledger keeps every posting).
    for kind, code in SYSTEM:
        op.execute(
            f"DELETE FROM ledger_accounts a WHERE a.owner_id IS NULL AND a.kind = '{kind}' "
            f"AND a.code = '{code}' AND NOT EXISTS "
            "(SELECT 1 FROM ledger_postings p WHERE p.account_id = a.id)"
        )
