""" "Where is my money" questions, recognised from phrases in Chinese, English and pinyin.

A question about the customer's own money names a topic (top-up, withdrawal, a held payment, the
payment PIN, a USDT deposit) *and* a concern (not arrived, how long, why, locked…): "怎么充值" is
a how-to (the article answers it), "充值没到账" is about a top-up of theirs. "我的钱呢" / "where
is my money" asks about everything pending."""

from __future__ import annotations

import re

TOPUP, WITHDRAWAL, HELD, PIN, USDT = "topup", "withdrawal", "held", "pin", "usdt"
ORDER = (TOPUP, USDT, WITHDRAWAL, HELD, PIN)

_TOPICS: dict[str, re.Pattern[str]] = {
    TOPUP: re.compile(
        r"充值|充钱|充进|充的钱|充不进|入金|银行转账|汇款|top[\s-]?up|recharg|\bdeposit"
    ),
    WITHDRAWAL: re.compile(r"提现|取现|提款|取出|提到银行卡|withdraw|cash[\s-]?out|payout"),
    HELD: re.compile(
        r"冻结|暂扣|扣住|扣押|拦截|拦下|被暂停|暂停|挂起|待确认|本人操作|on hold|\bheld\b|"
        r"\bhold\b|blocked|frozen|paused"
    ),
    PIN: re.compile(r"支付密码|交易密码|付款密码|\bpin\b"),
    USDT: re.compile(r"usdt|泰达|链上|trc[\s-]?20|erc[\s-]?20|confirmations?|区块确认"),
}
_PINYIN: dict[str, re.Pattern[str]] = {
    TOPUP: re.compile(r"chongzhi|chongqian"),
    WITHDRAWAL: re.compile(r"tixian|quxian"),
    HELD: re.compile(r"dongjie|zanting"),
    PIN: re.compile(r"zhifumima|jiaoyimima"),
}

_CONCERN = re.compile(
    r"没到|未到|还没|没有到|没收到|没看到|不到账|到账|多久|多长时间|什么时候|何时|几天|到哪|在哪|"
    r"进度|状态|处理中|怎么还|卡住|一直|为什么|为啥|怎么回事|什么原因|被|"
    r"\bwhere\b|\bwhen\b|status|\bnot\b|n't|\bno\b|missing|stuck|still|how long|\byet\b|arriv|"
    r"track|progress|\bwhy\b|pending"
)
_PINYIN_CONCERN = re.compile(r"daozhang|meidao|duojiu|weishenme|zenme|shenmeshihou|haimei")
_LOCKED = re.compile(
    r"锁|输错|错了|错误|忘|解锁|locked|\block|wrong|forgot|unlock|blocked|\bsuo\b|suole|wangle"
)
_ANY_MONEY = re.compile(
    r"我的钱|钱呢|钱去哪|钱没了|钱不见|钱没到|where(?:'s| is) my money|my money|"
    r"money (?:is )?missing|wodeqian|qianne"
)


def _compact(text: str) -> str:
    """Pinyin written with or without spaces and tones' digits: "chong zhi", "tixian2"."""
    return re.sub(r"[\s\-_'0-9]+", "", text)


def intents(question: str) -> list[str]:
    """The wallet topics the question asks about, in answering order (none: not about the
    customer's own money)."""
    text = question.lower()
    compact = _compact(text)
    if _ANY_MONEY.search(text) or _ANY_MONEY.search(compact):
        return list(ORDER[:-1])  # everything pending (the PIN only when asked)
    concern = bool(_CONCERN.search(text) or _PINYIN_CONCERN.search(compact))
    found = []
    for topic in ORDER:
        named = _TOPICS[topic].search(text) or (topic in _PINYIN and _PINYIN[topic].search(compact))
        if not named:
            continue
        if topic == PIN:
            if _LOCKED.search(text) or _LOCKED.search(compact):
                found.append(topic)
        elif concern:
            found.append(topic)
    if PIN in found and HELD in found and not re.search(r"冻结|frozen|held|hold", text):
        found.remove(HELD)  # "支付密码被锁住了": the PIN, not a held payment
    return found
