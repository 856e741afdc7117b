"""ledger: balance checked per statement instead of per entry at commit

The deferred constraint trigger ran a PL/pgSQL function and an aggregate query for every entry
at commit (about a quarter of PostgreSQL's work on a batch of transfers, issue 17). The same
guarantee, set-based, once per statement:

- every statement that inserts postings leaves each entry it touches balanced per currency with
  at least two postings of that statement (the sum of balanced sets is balanced, so an entry
  stays balanced whatever later statements of its transaction add, and those can only add
  balanced sets of its own transaction);
- every statement that inserts entries gives each of them postings (checked at the end of the
  statement: the ledger writes an entry and its postings in one statement).

Revision ID: 0024
Revises: 0023
"""

from __future__ import annotations

from collections.abc import Sequence

from alembic import op

revision: str = "0024"
down_revision: str | None = "0023"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# What migration 0002's function checked, kept as it was: each posting joins an entry of its
# own transaction and an account of its currency. Scalar subqueries (not joins) so the planner
# looks each row up by primary key: the transition table has no statistics.
_JOINS_CHECK = """
    IF EXISTS (SELECT 1 FROM new_postings p
                WHERE (SELECT e.txid FROM ledger_entries e WHERE e.id = p.entry_id)
                          IS DISTINCT FROM txid_current()
                   OR (SELECT a.currency FROM ledger_accounts a WHERE a.id = p.account_id)
                          IS DISTINCT FROM p.currency) THEN
        RAISE EXCEPTION 'ledger: a posting must join an entry of its own transaction and an '
                        'account of its currency'
            USING ERRCODE = 'restrict_violation';
    END IF;
"""
_BALANCE_CHECK = """
    IF EXISTS (SELECT 1
                 FROM (SELECT entry_id, count(*) AS n, sum(amount) AS total
                         FROM new_postings GROUP BY entry_id, currency) per_currency
                GROUP BY entry_id HAVING sum(n) < 2 OR bool_or(total <> 0)) THEN
        RAISE EXCEPTION 'ledger: an entry is unbalanced or has fewer than two postings'
            USING ERRCODE = 'check_violation';
    END IF;
"""


def _postings_check(body: str) -> str:
    return (
        "CREATE OR REPLACE FUNCTION ledger_postings_check() RETURNS trigger LANGUAGE plpgsql"
        f" AS $$\nBEGIN{body}    RETURN NULL;\nEND $$"
    )


POSTINGS_CHECK = _postings_check(_JOINS_CHECK + _BALANCE_CHECK)
OLD_POSTINGS_CHECK = _postings_check(_JOINS_CHECK)

ENTRIES_CHECK = """
CREATE FUNCTION ledger_entries_check() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF EXISTS (SELECT 1 FROM new_entries e
                WHERE NOT EXISTS (SELECT 1 FROM ledger_postings p WHERE p.entry_id = e.id)) THEN
        RAISE EXCEPTION 'ledger: an entry is unbalanced or has fewer than two postings'
            USING ERRCODE = 'check_violation';
    END IF;
    RETURN NULL;
END $$
"""


def upgrade() -> None:
    op.execute("DROP TRIGGER ledger_entries_balanced ON ledger_entries")
    op.execute(POSTINGS_CHECK)
    op.execute(ENTRIES_CHECK)
    op.execute(
        """CREATE TRIGGER ledger_entries_check AFTER INSERT ON ledger_entries
           REFERENCING NEW TABLE AS new_entries
           FOR EACH STATEMENT EXECUTE FUNCTION ledger_entries_check()"""
    )


def downgrade() -> None:
    op.execute("DROP TRIGGER ledger_entries_check ON ledger_entries")
    op.execute("DROP FUNCTION ledger_entries_check()")
    op.execute(OLD_POSTINGS_CHECK)
    op.execute(
        """CREATE CONSTRAINT TRIGGER ledger_entries_balanced AFTER INSERT ON ledger_entries
           DEFERRABLE INITIALLY DEFERRED FOR EACH ROW
           EXECUTE FUNCTION ledger_check_entry_balanced()"""
    )
