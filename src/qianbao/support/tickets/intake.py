"""Ticket categories and the intake fields each asks for (E5, E6). Values are short strings;
unknown fields are refused, required ones must be present, choices must be known."""

from __future__ import annotations

import re
from dataclasses import dataclass

from qianbao.kernel.i18n import N_
from qianbao.support.tickets.errors import TicketInvalid


@dataclass(frozen=True)
class IntakeField:
    name: str
    label: str
    kind: str = "text"  # text | choice | amount | date
    required: bool = False
    choices: tuple[tuple[str, str], ...] = ()
    max_length: int = 200


@dataclass(frozen=True)
class Category:
    slug: str
    label: str
    fields: tuple[IntakeField, ...] = ()


_AMOUNT = IntakeField("amount", N_("Amount (yuan)"), "amount", required=True, max_length=14)

CATEGORIES: tuple[Category, ...] = (
    Category(
        "account",
        N_("Account"),
        (
            IntakeField(
                "issue",
                N_("What is it about?"),
                "choice",
                required=True,
                choices=(
                    ("sign_in", N_("Signing in")),
                    ("identity", N_("Identity verification")),
                    ("phone", N_("Changing my number")),
                    ("frozen", N_("Frozen or restricted account")),
                    ("other", N_("Something else")),
                ),
            ),
        ),
    ),
    Category(
        "topup",
        N_("Top-up"),
        (
            _AMOUNT,
            IntakeField(
                "method",
                N_("Paid with"),
                "choice",
                choices=(("card", N_("Bank card")), ("transfer", N_("Bank transfer"))),
            ),
        ),
    ),
    Category(
        "withdrawal",
        N_("Withdrawal"),
        (
            _AMOUNT,
            IntakeField(
                "destination",
                N_("To"),
                "choice",
                choices=(("card", N_("Bank card")), ("iban", N_("Bank account (IBAN)"))),
            ),
        ),
    ),
    Category(
        "payment",
        N_("Payment"),
        (
            IntakeField("merchant", N_("Shop or person paid"), required=True, max_length=100),
            _AMOUNT,
        ),
    ),
    Category(
        "security",
        N_("Security"),
        (
            IntakeField(
                "incident",
                N_("What happened?"),
                "choice",
                required=True,
                choices=(
                    ("unknown_login", N_("A sign-in I do not recognise")),
                    ("unauthorized_payment", N_("A payment I did not make")),
                    ("lost_phone", N_("Lost or stolen phone")),
                    ("phishing", N_("A suspicious message or call")),
                    ("other", N_("Something else")),
                ),
            ),
            IntakeField("noticed_on", N_("Noticed on"), "date"),
        ),
    ),
    Category(
        "complaint",
        N_("Complaint"),
        (
            IntakeField(
                "about",
                N_("About"),
                "choice",
                required=True,
                choices=(
                    ("service", N_("Customer service")),
                    ("fees", N_("Fees")),
                    ("delay", N_("A delay")),
                    ("other", N_("Something else")),
                ),
            ),
        ),
    ),
    Category(
        "suggestion",
        N_("Suggestion"),
        (
            IntakeField(
                "area",
                N_("Area"),
                "choice",
                choices=(
                    ("app", N_("The app")),
                    ("features", N_("A new feature")),
                    ("fees", N_("Fees")),
                    ("other", N_("Something else")),
                ),
            ),
        ),
    ),
    Category("other", N_("Other")),
)
BY_SLUG = {c.slug: c for c in CATEGORIES}
_AMOUNT_RE = re.compile(r"^\d{1,9}(\.\d{1,2})?$")
_DATE_RE = re.compile(r"^\d{4}-\d{2}-\d{2}$")


def category(slug: str) -> Category:
    try:
        return BY_SLUG[slug]
    except KeyError:
        raise TicketInvalid(problem=N_("choose a category.")) from None


def validate(slug: str, values: dict[str, str]) -> dict[str, str]:
    """The cleaned intake values of category ``slug`` (empty optional fields left out)."""
    cat = category(slug)
    known = {f.name: f for f in cat.fields}
    unknown = set(values) - set(known)
    if unknown:
        raise TicketInvalid(problem=N_("unknown field."))
    clean: dict[str, str] = {}
    for f in cat.fields:
        value = (values.get(f.name) or "").strip()
        if not value:
            if f.required:
                raise TicketInvalid(problem=N_("fill in every required field."))
            continue
        if len(value) > f.max_length:
            raise TicketInvalid(problem=N_("a field is too long."))
        if f.kind == "choice" and value not in {c for c, _ in f.choices}:
            raise TicketInvalid(problem=N_("choose one of the offered answers."))
        if f.kind == "amount" and not _AMOUNT_RE.match(value):
            raise TicketInvalid(problem=N_("enter the amount as a number such as 12.34."))
        if f.kind == "date" and not _DATE_RE.match(value):
            raise TicketInvalid(problem=N_("enter the date as YYYY-MM-DD."))
        clean[f.name] = value
    return clean


STATUS_LABELS = {
    "new": N_("New"),
    "open": N_("Open"),
    "waiting": N_("Waiting for customer"),
    "resolved": N_("Resolved"),
    "closed": N_("Closed"),
}
PRIORITY_LABELS = {
    "low": N_("Low"),
    "normal": N_("Normal"),
    "high": N_("High"),
    "urgent": N_("Urgent"),
}


def intake_lines(slug: str, values: dict[str, str]) -> list[tuple[str, str]]:
    """(label, shown value) pairs, untranslated (the edge translates both)."""
    cat = BY_SLUG.get(slug)
    if cat is None:
        return []
    lines = []
    for f in cat.fields:
        if f.name in values:
            shown = dict(f.choices).get(values[f.name], values[f.name])
            lines.append((f.label, shown))
    return lines
