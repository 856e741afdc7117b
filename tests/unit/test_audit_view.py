"""Audit-log details on Chinese pages are Chinese (issue 20: "status: resolved, emailed: False"
and "· self" were English on the console)."""

from __future__ import annotations

from qianbao.kernel.translations import gettext
from qianbao.web.audit_view import KEY_LABELS, VALUE_LABELS, details_text
from qianbao.web.templating import templates


def test_details_read_in_the_readers_language():
    details = {"status": "resolved", "emailed": False, "by": "self", "ticket": "T20261207-123456"}
    assert (
        details_text(details, "zh_CN")
        == "状态：已解决 · 已发邮件：否 · 经办人：客户本人 · 工单：T20261207-123456"
    )
    assert details_text(details, "en") == (
        "Status: Resolved · E-mailed: no · By: the customer · Ticket: T20261207-123456"
    )
    assert details_text({"reason": None, "x": ""}, "zh_CN") == ""


def test_every_label_is_translated():
    for msgid in [*KEY_LABELS.values(), *VALUE_LABELS.values(), "yes", "no"]:
        if msgid == "Telegram":
            continue  # a name
        assert gettext("zh_CN", msgid) != msgid, msgid


def test_brackets_follow_the_language():
    paren = templates.env.filters["paren"]
    assert paren("可选", "zh_CN") == "（可选）"
    assert paren("optional", "en") == "(optional)"


def test_money_weekdays_and_people_by_name():
    import uuid

    agent = uuid.uuid4()
    details = {"amount": 30000, "currency": "CNY", "weekday": 1, "agent": str(agent)}
    shown = details_text(details, "zh_CN", {agent: {"name": "客服小王"}})
    assert shown == "金额：¥300.00 · 币种：CNY · 星期：星期一 · 客服：客服小王"
