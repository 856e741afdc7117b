"""The messages of budgets (``qianbao.wallet.budgets``): 80 % of a monthly budget spent, and
100 %."""

from __future__ import annotations

from qianbao.kernel.i18n import N_
from qianbao.notifications.template_model import Template

BUDGET_TEMPLATES = [
    Template(
        "wallet.budget_warning",
        sms=N_(
            "Qianbao budget alert — {category}: you have spent {spent} of your {budget} budget "
            "this month ({percent}%)."
        ),
        subject=N_("Budget alert: {category} at {percent}%"),
        body=N_(
            "This month ({month}) you have spent {spent} on {category}, against a monthly budget "
            "of {budget} ({percent}%).\n\nSee your spending and change your budgets in the "
            "wallet, under Spending."
        ),
        translate_params=("category",),
    ),
    Template(
        "wallet.budget_reached",
        sms=N_(
            "Qianbao budget alert — {category}: you have spent {spent} of your {budget} budget "
            "this month ({percent}%). Your budget is used up."
        ),
        subject=N_("Budget alert: your {category} budget is used up"),
        body=N_(
            "This month ({month}) you have spent {spent} on {category}, against a monthly budget "
            "of {budget} ({percent}%). Your budget for this month is used up.\n\nSee your "
            "spending and change your budgets in the wallet, under Spending."
        ),
        translate_params=("category",),
    ),
]
