import pytest

from qianbao.web.i18n import from_accept_language, gettext, negotiate, normalize


@pytest.mark.parametrize(
    ("header", "expected"),
    [
        ("en-US,en;q=0.9", "en"),
        ("zh-CN,zh;q=0.9,en;q=0.8", "zh_CN"),
        ("zh-Hant-TW", "zh_Hant"),
        ("fr-FR,fr;q=0.9,en;q=0.5", "en"),
        ("fr-FR,de;q=0.9", None),
        ("en;q=0.2,zh;q=0.8", "zh_CN"),
        ("en;q=0", None),
        ("", None),
        (None, None),
        ("*;q=1, garbage;;;", None),
    ],
)
def test_accept_language_picks_the_best_supported_language(header, expected):
    assert from_accept_language(header) == expected


def test_cookie_beats_header_and_header_beats_default():
    assert negotiate("en", "zh-CN", "zh_CN") == "en"
    assert negotiate(None, "en-GB", "zh_CN") == "en"
    assert negotiate("xx", None, "zh_CN") == "zh_CN"
    assert negotiate(None, None, "en") == "en"


def test_normalize_rejects_nonsense():
    assert normalize("zh_CN") == "zh_CN"
    assert normalize("!!") is None


def test_catalogs_translate_both_ways():
    assert gettext("zh_CN", "This page does not exist.") == "该页面不存在。"
    assert gettext("en", "This page does not exist.") == "This page does not exist."


def test_every_message_has_a_chinese_translation():
    from babel.messages.pofile import read_po

    from qianbao.web.i18n import LOCALE_DIR

    with (LOCALE_DIR / "zh_CN" / "LC_MESSAGES" / "messages.po").open("rb") as fh:
        catalog = read_po(fh)
    missing = [m.id for m in catalog if m.id and (not m.string or m.fuzzy)]
    assert missing == []


def test_catalog_template_is_in_sync_with_the_code():
    """Every string marked in code and templates is in the catalogs (run make extract-messages)."""
    import io

    from babel.messages.extract import extract_from_dir
    from babel.messages.pofile import read_po

    from qianbao.web.i18n import LOCALE_DIR

    src = LOCALE_DIR.parent
    method_map = [
        ("**.py", "python"),
        ("**/templates/**.html", "jinja2"),
        ("**/templates/**.webmanifest", "jinja2"),
    ]
    options = {
        "**/templates/**.html": {"extensions": "jinja2.ext.i18n", "trimmed": "true"},
        "**/templates/**.webmanifest": {"extensions": "jinja2.ext.i18n"},
    }
    found = set()
    for _, _, message, _, _ in extract_from_dir(
        str(src), method_map, options_map=options, keywords={"N_": None, "_": None, "gettext": None}
    ):
        found.add(message if isinstance(message, str) else message[0])
    with (LOCALE_DIR / "zh_CN" / "LC_MESSAGES" / "messages.po").open("rb") as fh:
        catalog = read_po(io.BytesIO(fh.read()))
    known = {m.id for m in catalog if m.id}
    assert sorted(found - known) == []
