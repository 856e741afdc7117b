"""Help-center building blocks without a database: the shipped content files, tokenizing,
stemming, synonyms, typo distance, Markdown rendering and sanitizing."""

from __future__ import annotations

import re

from qianbao.support.helpcenter import content, text
from qianbao.support.helpcenter.ranking import edit_distance
from qianbao.support.helpcenter.render import to_html, to_text


def test_at_least_thirty_articles_in_both_languages_with_valid_links():
    articles = content.articles()
    assert len(articles) >= 30
    slugs = {a.slug for a in articles}
    categories = {c.slug for c in content.categories()}
    for a in articles:
        assert a.category in categories
        assert a.title_zh and a.title_en and a.body_zh.strip() and a.body_en.strip()
        assert re.search(r"[\u4e00-\u9fff]", a.title_zh + a.body_zh)
        for body in (a.body_zh, a.body_en):
            for target in re.findall(r"\]\(/help/([a-z0-9-]+)\)", body):
                assert target in slugs, (a.slug, target)
    # Every category has articles.
    assert {a.category for a in articles} == categories


def test_terms_segment_chinese_stem_english_and_add_concepts():
    assert text.terms("提现多久到账") == ["提现", "多久", "到账", "~withdraw", "~arrive"]
    assert "~topup" in text.terms("How do I recharge?")
    assert "~topup" in text.terms("top-up") and "~topup" in text.terms("充值")
    assert "~unauthorized" in text.terms("someone used my account without permission")
    assert "~twofactor" in text.terms("two-step verification")
    assert text.stem("withdrawing") == "withdraw"
    assert text.stem("fees") == "fee" and text.stem("codes") == "code"
    assert text.stem("declined") == text.stem("decline")
    assert "the" not in text.terms("the fee") and "的" not in text.terms("提现的手续费")


def test_edit_distance_counts_a_swap_once():
    assert edit_distance("freze", "freez") == 1
    assert edit_distance("recharg", "recharge") == 1
    assert edit_distance("abc", "abc") == 0


def test_markdown_is_rendered_and_raw_html_escaped():
    html = to_html(
        "# Title\n\n**bold** [x](/help/a)\n\n<script>alert(1)</script>\n\n| a | b |\n|---|---|\n| 1 | 2 |"
    )
    assert "<h2>Title</h2>" in html and "<strong>bold</strong>" in html
    assert '<a href="/help/a" rel="noopener noreferrer">x</a>' in html
    assert "<script>" not in html and "&lt;script&gt;" in html
    assert "<table>" in html
    assert 'href="javascript' not in to_html("[x](javascript:alert(1))")
    assert to_text("1. **Open** [the page](/x)\n\n| a | b |\n|---|---|") == "Open the page\n\n a b"
