"""Languages for the web edge (re-exported from ``qianbao.kernel.translations``)."""

from qianbao.kernel.translations import (
    HTML_LANG,
    LANGUAGE_NAMES,
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
    "LOCALES",
    "LOCALE_DIR",
    "from_accept_language",
    "gettext",
    "negotiate",
    "normalize",
    "translations",
]
