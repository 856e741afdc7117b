"""What the bot says about the customer's own wallet, marked for translation (``{…}`` are filled
when the answer is made, in the conversation's language)."""

from __future__ import annotations

from qianbao.kernel.i18n import N_

T: dict[str, str] = {
    # labels of facts and actions
    "amount": N_("Amount"),
    "method": N_("Method"),
    "started": N_("Started"),
    "expires": N_("Expires"),
    "reference": N_("Reference"),
    "network": N_("Network"),
    "confirmations": N_("Confirmations"),
    "seen": N_("Seen"),
    "to": N_("To"),
    "asked": N_("Requested at"),
    "paid_to": N_("Paid to"),
    "status": N_("Status"),
    "expected": N_("Expected arrival"),
    "held_at": N_("Held at"),
    "answer_by": N_("Answer by"),
    "frozen_since": N_("Frozen since"),
    "locked_since": N_("Locked since"),
    "processing": N_("Processing"),
    "by_bank_transfer": N_("Bank transfer"),
    "topup_link": N_("Open this top-up"),
    "tx_link": N_("See the transaction"),
    "bank_transfer_link": N_("Top up by bank transfer"),
    "usdt_link": N_("My USDT deposits"),
    "withdrawal_link": N_("Follow this withdrawal"),
    "held_link": N_("Answer: was this you?"),
    "unfreeze_link": N_("How to unfreeze"),
    "pin_link": N_("Payment PIN settings"),
    # top-ups
    "topup_pending": N_("Your top-up in progress"),
    "topup_waiting": N_(
        "We are waiting for {method} to confirm the payment: the money is in your wallet as soon "
        "as it does. If you did not finish paying, continue on the top-up's page before "
        "{expires}; after that it expires and no money is taken."
    ),
    "topup_expiring": N_(
        "It was not confirmed in time and is being closed as expired: nothing is added or "
        "taken. If your bank took the money anyway, it gives it back within a few business "
        "days — or we credit it if the bank confirms the payment after all."
    ),
    "topup_none": N_("You have no top-up in progress."),
    "bank_transfer": N_(
        "Paid by bank transfer? It is credited when our bank reports it, on business days. The "
        "transfer's memo must carry your code {code}."
    ),
    "latest": N_("Your latest one: {amount} on {time} — {status}."),
    "never": N_("You have none so far."),
    # USDT
    "usdt_pending": N_("Your USDT deposit on the way"),
    "usdt_waiting": N_(
        "It is credited by itself once the network has confirmed it {needed} times; there is "
        "nothing to do."
    ),
    "usdt_none": N_("No USDT deposit of yours is waiting for confirmations."),
    # withdrawals
    "withdrawal_pending": N_("Your withdrawal in progress"),
    "withdrawal_none": N_("You have no withdrawal in progress."),
    "usdt_withdrawal": N_("It is sent on the chain; its page shows the confirmations."),
    # held payments and a frozen account
    "held_pending": N_("A payment of yours is on hold"),
    "held_why": N_(
        "Our risk checks held it because it looked unusual for your account: we ask you to "
        "confirm that you made it. The money is not lost — it waits on a hold."
    ),
    "held_do": N_(
        "Answer before {time}: if it was you, confirm with the SMS code and it is sent; if not, "
        "cancel it and we freeze your account to protect it. Without an answer it is cancelled "
        "and the money stays in your wallet."
    ),
    "held_none": N_("No payment of yours is on hold."),
    "frozen": N_("Your account is frozen"),
    "frozen_do": N_(
        "Money cannot leave a frozen account. You can unfreeze it yourself in the security "
        "centre with your login password and an SMS code."
    ),
    # the payment PIN
    "pin_locked": N_("Your payment PIN is locked"),
    "pin_unlock": N_(
        "It was locked after too many wrong tries and stays locked until you unlock it: in the "
        "security centre under Payment PIN, with your login password and an SMS code."
    ),
    "pin_ok": N_("Your payment PIN is not locked."),
    "pin_tries": N_("{failures} wrong tries so far; it locks after {most}."),
    "pin_unset": N_("You have not set a payment PIN yet."),
    "nothing_pending": N_(
        "Nothing is in progress in your wallet: no top-up, withdrawal or held payment."
    ),
}

# A withdrawal's stage, as its page names it (web/templates/wallet/_wsteps.html).
STAGES: dict[str, str] = {
    "in_review": N_("Waiting for review"),
    "approved": N_("Approved"),
    "submitted": N_("Sent to the bank"),
    "settled": N_("Paid out"),
    "failed": N_("Failed: money back in your wallet"),
    "rejected": N_("Not approved: money back in your wallet"),
    "returned": N_("Returned by the bank: money back in your wallet"),
}
STAGE_NOTES: dict[str, str] = {
    "in_review": N_(
        "We check larger withdrawals before they go out, on business days; once approved it "
        "should arrive by {date}."
    ),
    "approved": N_("It is approved and goes to the bank shortly; expect it by {date}."),
    "submitted": N_(
        "The bank has it and pays out on business days; expect it by {date}. Banks sometimes "
        "show it a day later."
    ),
}
