"""Customer service: the help center (``helpcenter``); chat and tickets follow."""
