"""Languages for the web edge (re-exported from ``qianbao.kernel.translations``)."""

from qianbao.kernel.translations import (
    HTML_LANG,
    LANGUAGE_NAMES,
    LANGUAGE_SHORT,
    LOCALE_DIR,
    LOCALES,
    from_accept_language,
    gettext,
    negotiate,
    normalize,
    translations,
)

__all__ = [
    "HTML_LANG",
    "LANGUAGE_NAMES",
    "LANGUAGE_SHORT",
    "LOCALES",
    "LOCALE_DIR",
    "from_accept_language",
    "gettext",
    "negotiate",
    "normalize",
    "translations",
]
