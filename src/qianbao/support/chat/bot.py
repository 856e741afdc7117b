"""The chat bot's answer to one customer message (the bot state of a conversation).

1. An answer to its own clarifying question ("1", "2", "第二个", a choice's title) continues
   with the chosen article.
2. A "where is my money" question (``bot_intents``) from a signed-in customer is answered from
   their wallet first (``wallet_answers``), then the fitting article's link; a visitor gets the
   article and "sign in to see your own …".
3. Otherwise the help center (``bot_articles``): the best article's steps inline with its link
   and the next ones as related links; "nothing fits" (and a person offered); or, when two
   topics tie, one question with the two as choices.

The message's ``body`` is the whole answer as plain text (steps, links, choices — "回复 1 或 2"),
complete for channels that show only text (WeChat, Telegram, transcripts, the agent's view);
``data`` holds the same answer in parts for the web chat (``kind``, ``text``, ``wallet``,
``article``, ``choices``, ``related``, ``hint``), made safe again by ``view`` when shown."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select

from qianbao.kernel.hant import to_hans
from qianbao.kernel.i18n import N_
from qianbao.kernel.translations import is_chinese
from qianbao.support.channels.details import contact_values
from qianbao.support.chat import bot_articles, bot_intents, wallet_answers
from qianbao.support.chat.bot_articles import Excerpt
from qianbao.support.chat.models import ChatConversation, ChatMessage
from qianbao.support.chat.wallet_answers import Speaker

SAY: dict[str, str] = {
    "answer": N_("Here is what our help center says:"),
    "none": N_("I could not find a help article for this. Try other words, or talk to a person."),
    "clarify": N_("Which of these do you mean? Reply 1 or 2."),
    "wallet": N_("Here is what I see in your wallet:"),
    "sign_in": N_("Sign in to see your own top-ups, withdrawals and payments here."),
    "sign_in_link": N_("Sign in"),
    "more": N_("Read the whole article"),
    "related": N_("Related articles"),
}
SIGN_IN_URL = "/login?next=/chat"


async def last_bot_data(s: Any, conv: ChatConversation) -> dict[str, Any]:
    """The data of the bot's latest message in this conversation ({} if none)."""
    found = await s.scalar(
        select(ChatMessage.data)
        .where(ChatMessage.conversation_id == conv.id, ChatMessage.sender == "bot")
        .order_by(ChatMessage.id.desc())
        .limit(1)
    )
    return dict(found or {})


def _values(cfg: Any, locale: str) -> dict[str, str] | None:
    settings = getattr(cfg, "settings", None)
    return contact_values(settings.support, locale) if settings is not None else None


def _article(x: Excerpt, say: Speaker, *, steps: bool = True) -> dict[str, Any]:
    return {
        "slug": x.slug,
        "title": x.title,
        "url": x.url,
        "lead": x.lead if steps or not x.steps else "",
        "steps": x.steps if steps else [],
        "links": x.links if steps else [],
        "more": say(SAY["more"]),
    }


def _related(hits: list[Any], skip: set[str]) -> list[dict[str, str]]:
    return [
        {"title": h.article.title, "url": h.article.url} for h in hits if h.article.slug not in skip
    ]


async def answer(
    s: Any, cfg: Any, conv: ChatConversation, question: str
) -> tuple[str, dict[str, Any]]:
    """(body, data) of the bot's answer to ``question`` in ``conv``."""
    locale = conv.locale or "zh_CN"
    say = Speaker(locale)
    values = _values(cfg, locale)
    data: dict[str, Any] = {"handoff": True, "related_label": say(SAY["related"])}

    previous = await last_bot_data(s, conv)
    if previous.get("kind") == "clarify":
        picked = bot_articles.choice_of(question, list(previous.get("choices") or []))
        if picked is not None:
            slug, title = str(picked.get("slug", "")), str(picked.get("title", ""))
            x = await bot_articles.excerpt(s, slug, locale, values, title=title)
            data.update(kind="answer", text=say(SAY["answer"]), article=_article(x, say))
            return plain(data, locale), data

    found = await bot_articles.find(s, question, locale, max(cfg.bot_articles, 3))
    wanted = bot_intents.intents(to_hans(bot_articles.as_words(question)))
    if wanted:
        best = found.best if found.kind != "none" else None
        if conv.user_id is not None:
            items = await wallet_answers.answer(s, cfg, conv.user_id, wanted, locale)
            data.update(kind="wallet", text=say(SAY["wallet"]))
            data["wallet"] = [i.as_data() for i in items]
            if best is not None:
                x = await bot_articles.excerpt(s, best.article.slug, locale, values)
                data["article"] = _article(x, say, steps=False)
                data["related"] = _related(found.hits[1:3], {best.article.slug})
            return plain(data, locale), data
        data["hint"] = {
            "text": say(SAY["sign_in"]),
            "label": say(SAY["sign_in_link"]),
            "url": SIGN_IN_URL,
        }
        if best is not None:
            found = bot_articles.Found("answer", found.hits)

    if found.kind == "none" or found.best is None:
        data.update(kind="none", text=say(SAY["none"]))
        return plain(data, locale), data
    if found.kind == "clarify":
        data.update(kind="clarify", text=say(SAY["clarify"]))
        data["choices"] = [
            {"n": n, "slug": h.article.slug, "title": h.article.title, "url": h.article.url}
            for n, h in enumerate(found.hits[:2], start=1)
        ]
        return plain(data, locale), data
    best = found.best
    x = await bot_articles.excerpt(s, best.article.slug, locale, values)
    data.update(kind="answer", text=say(SAY["answer"]), article=_article(x, say))
    data["related"] = _related(found.hits[1 : cfg.bot_articles], {best.article.slug})
    return plain(data, locale), data


def plain(data: dict[str, Any], locale: str = "zh_CN") -> str:
    """The whole answer as text, for channels without the web chat's parts (full-width
    punctuation in Chinese)."""
    zh = is_chinese(locale)
    colon = "：" if zh else ": "

    def head(title: str) -> str:
        return f"【{title}】" if zh else f"[{title}]"

    def paren(url: str) -> str:
        return f"（{url}）" if zh else f" ({url})"

    lines = [str(data.get("text", ""))]
    for item in data.get("wallet") or []:
        lines += ["", head(item["title"])]
        lines += [f"{f['label']}{colon}{f['value']}" for f in item["facts"]]
        lines += list(item["notes"])
        lines += [f"→ {link['label']}{colon}{link['url']}" for link in item["links"]]
    article = data.get("article")
    if article:
        lines += ["", head(article["title"])]
        if article.get("lead"):
            lines.append(article["lead"])
        lines += [f"{n}. {step}" for n, step in enumerate(article.get("steps") or [], start=1)]
        lines += [f"→ {link['label']}{colon}{link['url']}" for link in article.get("links") or []]
        lines.append(f"{article['more']}{colon}{article['url']}")
    for choice in data.get("choices") or []:
        lines.append(f"{choice['n']}. {choice['title']}{paren(choice['url'])}")
    hint = data.get("hint")
    if hint:
        lines += ["", f"{hint['text']} {hint['url']}"]
    related = data.get("related") or []
    if related:
        lines += ["", f"{data.get('related_label', '')}{colon}"]
        lines += [f"• {r['title']}{paren(r['url'])}" for r in related]
    return "\n".join(lines).strip()


# -- the web chat's view of a bot message -----------------------------------------------------
def _url(value: Any) -> str | None:
    """Our own pages only: a path on this site (never another host or a script)."""
    url = str(value or "")
    return url if url.startswith("/") and not url.startswith("//") and "\\" not in url else None


def _links(values: Any) -> list[dict[str, str]]:
    out = []
    for link in values or []:
        url = _url(link.get("url"))
        if url:
            out.append({"label": str(link.get("label", "")), "url": url})
    return out


def view(data: dict[str, Any], *, interactive: bool) -> dict[str, Any] | None:
    """The parts of a structured bot message for the page (text only; links are paths on this
    site), or None for older messages (``bot_found`` / ``bot_none``: articles only).
    ``interactive``: the choices are buttons (the customer, while the bot answers)."""
    kind = data.get("kind")
    if not kind:
        return None
    article = data.get("article") or None
    if article:
        article = {
            "title": str(article.get("title", "")),
            "url": _url(article.get("url")) or "",
            "lead": str(article.get("lead", "")),
            "steps": [str(x) for x in article.get("steps") or []],
            "links": _links(article.get("links")),
            "more": str(article.get("more", "")),
        }
    hint = data.get("hint") or None
    if hint:
        hint = {"text": str(hint.get("text", "")), "label": str(hint.get("label", "")),
                "url": _url(hint.get("url")) or SIGN_IN_URL}  # fmt: skip
    return {
        "kind": str(kind),
        "wallet": [
            {
                "title": str(i.get("title", "")),
                "facts": [
                    {"label": str(f.get("label", "")), "value": str(f.get("value", ""))}
                    for f in i.get("facts") or []
                ],
                "notes": [str(n) for n in i.get("notes") or []],
                "links": _links(i.get("links")),
            }
            for i in data.get("wallet") or []
        ],
        "article": article if article and article["url"] else None,
        "choices": [
            {
                "n": int(c.get("n", 0)),
                "title": str(c.get("title", "")),
                "url": _url(c.get("url")) or "",
            }
            for c in data.get("choices") or []
        ],
        "interactive": interactive,
        "hint": hint,
        "related": [
            {"title": str(r.get("title", "")), "url": r["url"]}
            for r in data.get("related") or []
            if str(r.get("url", "")).startswith("/help/")
        ],
        "related_label": str(data.get("related_label", "")),
    }
