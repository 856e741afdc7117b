"""The help center (E1, D5): articles in Chinese and English (Markdown, draft or published),
edited by staff; search for Chinese and English questions; "was this helpful?" votes.

Other features (the chat bot) use ``search(session, query, locale, limit) -> list[Hit]``.
"""

from qianbao.support.helpcenter.ranking import ArticleRef, Hit, search

__all__ = ["ArticleRef", "Hit", "search"]
