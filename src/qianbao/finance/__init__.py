"""The finance console (F2): operators change the money settings — fee plans, limits per tier
and channel, currencies, receiving bank accounts, the holiday calendar — by four-eyes: one
proposes (with the value before and after), another approves, and the approval applies it and
writes the audit log in the same transaction (``changes``)."""
