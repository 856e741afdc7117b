"""The server-drawn charts (web/charts.py): well-formed SVG with a title, text labels and no
inline style; nothing to draw gives an empty state, not a broken chart."""

from __future__ import annotations

import xml.etree.ElementTree as ET

from qianbao.web.charts import Bar, Slice, bars, donut

NS = {"s": "http://www.w3.org/2000/svg"}


def _parse(markup: str) -> ET.Element:
    root = ET.fromstring(str(markup))
    assert root.tag == "{http://www.w3.org/2000/svg}svg"
    assert "style" not in str(markup)  # the pages' CSP allows no inline styles
    return root


def _text(root: ET.Element, path: str) -> str:
    found = root.find(path, NS)
    assert found is not None
    return found.text or ""


def _cls(el: ET.Element) -> str:
    return el.get("class") or ""


def _texts(root: ET.Element) -> list[str]:
    return ["".join(t.itertext()) for t in root.iter("{http://www.w3.org/2000/svg}text")]


SLICES = [
    Slice("food", "餐饮", 4520, "¥45.20", "45.2%"),
    Slice("transfers", "转账 <AA> & co", 3480, "¥34.80", "34.8%"),
    Slice("fees", "手续费", 2000, "¥20.00", "20.0%"),
]


def test_a_donut_is_well_formed_with_its_title_labels_and_one_slice_per_category():
    root = _parse(
        donut(
            SLICES,
            chart_id="d1",
            title="2026年12月支出",
            center_text="¥100.00",
            center_sub="支出",
            empty_text="暂无支出",
        )
    )
    assert root.get("role") == "img"
    assert _text(root, "s:title") == "2026年12月支出"
    desc = _text(root, "s:desc")
    assert "餐饮 ¥45.20 45.2%" in desc and "转账 <AA> & co ¥34.80" in desc  # escaped, read back
    segs = [c for c in root.iter("{http://www.w3.org/2000/svg}circle") if "seg" in _cls(c)]
    assert [_cls(c) for c in segs] == ["seg seg-food", "seg seg-transfers", "seg seg-fees"]
    # Each slice starts where the one before ended (pathLength 100: percent of the ring).
    assert [c.get("stroke-dashoffset") for c in segs] == ["0", "-45.2", "-80"]
    assert _text(segs[0], "s:title") == "餐饮 ¥45.20 45.2%"
    assert _texts(root) == ["¥100.00", "支出"]


def test_one_category_is_a_whole_ring_and_a_long_total_gets_a_smaller_font():
    root = _parse(
        donut(
            [Slice("food", "餐饮", 1, "¥0.01")],
            chart_id="d2",
            title="t",
            center_text="¥123,456,789,012.34",
            center_sub="支出",
            empty_text="无",
        )
    )
    [seg] = [c for c in root.iter("{http://www.w3.org/2000/svg}circle") if "seg" in _cls(c)]
    assert seg.get("stroke-dasharray") == "100 0"
    total = next(t for t in root.iter("{http://www.w3.org/2000/svg}text"))
    assert total.get("class") == "donut-total small"
    assert total.get("textLength") == "108"  # squeezed into the ring's hole


def test_a_donut_with_nothing_spent_is_an_empty_state():
    for nothing in ([], [Slice("food", "餐饮", 0, "¥0.00"), Slice("fees", "手续费", -500, "-¥5")]):
        root = _parse(
            donut(
                nothing,
                chart_id="d3",
                title="十二月",
                center_text="¥0.00",
                center_sub="支出",
                empty_text="暂无支出",
            )
        )
        assert "empty" in _cls(root)
        assert _text(root, "s:title") == "十二月"
        assert _text(root, "s:desc") == "暂无支出"
        assert _texts(root) == ["暂无支出"]
        circles = list(root.iter("{http://www.w3.org/2000/svg}circle"))
        assert [_cls(c) for c in circles] == ["donut-track"]


MONTHS = [
    Bar("7月", 120_00, "¥120", "2026年7月：¥120.00", "/wallet/insights?month=2026-07&currency=CNY"),
    Bar("8月", 0, "", "2026年8月：¥0.00", "/wallet/insights?month=2026-08&currency=CNY"),
    Bar("9月", 480_00, "¥480", "2026年9月：¥480.00", "/wallet/insights?month=2026-09&currency=CNY",
        current=True),
    Bar("10月", -10_00, "", "2026年10月：-¥10.00", None),
]  # fmt: skip


def test_bars_have_a_link_and_a_label_per_month_and_the_highest_fills_the_height():
    root = _parse(bars(MONTHS, chart_id="b1", title="每月支出（CNY）", empty_text="暂无支出"))
    assert root.get("role") == "group"
    assert _text(root, "s:title") == "每月支出（CNY）"
    links = root.findall("s:a", NS)
    assert [a.get("href") for a in links] == [m.href for m in MONTHS[:3]]
    assert _text(links[2], "s:title") == "2026年9月：¥480.00"  # the link's name
    assert links[2].get("aria-current") == "page" and links[0].get("aria-current") is None
    drawn = {
        _cls(r): r
        for r in root.iter("{http://www.w3.org/2000/svg}rect")
        if _cls(r) in ("bar", "bar current")
    }
    assert set(drawn) == {"bar", "bar current"}  # July and September; nothing for Aug / Oct
    assert drawn["bar current"].get("height") == "130"  # 180 - 24 above - 26 below
    assert drawn["bar"].get("height") == "32.5"  # 120 / 480 of it
    assert _texts(root) == ["¥120", "7月", "8月", "¥480", "9月", "10月"]
    # Every month is a tap target the height of the chart.
    hits = [r for r in root.iter("{http://www.w3.org/2000/svg}rect") if _cls(r) == "bar-hit"]
    assert len(hits) == 4 and {r.get("height") for r in hits} == {"180"}


def test_bars_with_no_spending_show_the_months_and_an_empty_state():
    empty = [Bar(f"{m}月", 0, "", f"{m}月：¥0.00", None) for m in range(7, 13)]
    root = _parse(bars(empty, chart_id="b2", title="每月支出", empty_text="这几个月没有支出"))
    assert "empty" in _cls(root)
    assert _texts(root)[-1] == "这几个月没有支出"
    assert _texts(root)[:6] == [f"{m}月" for m in range(7, 13)]
    assert not [
        r for r in root.iter("{http://www.w3.org/2000/svg}rect") if "bar " in (_cls(r) + " ")
    ]
    _parse(bars([], chart_id="b3", title="t", empty_text="none"))  # no months at all: still SVG
