"""Business categories: Merchant Category Codes (ISO 18245) a merchant chooses from, with the
names customers see in their history."""

from __future__ import annotations

from qianbao.kernel.i18n import N_

CATEGORIES: dict[str, str] = {
    "5411": N_("Supermarkets and grocery stores"),
    "5499": N_("Food stores and convenience shops"),
    "5812": N_("Restaurants"),
    "5814": N_("Fast food, cafés and tea shops"),
    "5311": N_("Department stores"),
    "5399": N_("General merchandise"),
    "5651": N_("Clothing"),
    "5732": N_("Electronics"),
    "5912": N_("Pharmacies"),
    "5942": N_("Books"),
    "5945": N_("Toys and games"),
    "5815": N_("Digital goods"),
    "5999": N_("Other shops"),
    "4111": N_("Public transport"),
    "4121": N_("Taxis and ride hailing"),
    "4814": N_("Phone and internet"),
    "4900": N_("Utilities"),
    "5541": N_("Fuel stations"),
    "7011": N_("Hotels"),
    "7832": N_("Cinemas"),
    "8211": N_("Schools"),
    "8062": N_("Hospitals"),
    "7299": N_("Other services"),
}


def category_name(code: str) -> str:
    """The msgid of the category's name (translate it where it is shown)."""
    return CATEGORIES.get(code, CATEGORIES["5999"])
