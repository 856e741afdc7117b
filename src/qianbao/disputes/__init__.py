"""Disputes (D4, E9): unauthorized-transaction claims and mistaken transfers as cases, with the
recipient's remaining funds held at once, an agent's recommendation and a supervisor's decision
(never the same person), and the money returned through the ledger — from the held funds, else
the merchant, else the operator's loss account, each its own entry. Acts on money only through
the wallet and ledger services."""
