"""The agent console's customer side (E9, E10): an append-only audit log of every staff read of
customer data and every action, the customer context (account, balances, transactions, tickets,
security events), staff actions (freeze with a reason, send a help article, escalate to a
supervisor), CSAT ratings and the support reports."""

from qianbao.support.console.audit import record

__all__ = ["record"]
