"""Marking strings for translation in domain code.

Domains do not know the user's language. They mark user-facing text with ``N_`` (a no-op that the
Babel extractor recognises), and the web edge translates it with the request's locale.
"""


class Message(str):
    """Text marked with ``N_``: translated and filled at the edge. Any other string is data (a
    user's input, a code) and is never used as a format string."""

    __slots__ = ()


def N_(message: str) -> str:
    return Message(message)
