"""Marking strings for translation in domain code.

Domains do not know the user's language. They mark user-facing text with ``N_`` (a no-op that the
Babel extractor recognises), and the web edge translates it with the request's locale.
"""


def N_(message: str) -> str:
    return message
