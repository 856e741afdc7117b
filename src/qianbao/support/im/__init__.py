"""WeChat Official Account and Telegram bot channels (E8): pushes land in the live chat's
conversations (same bot, masking and hand-off); a chat account is linked to a wallet with a
one-time code; answers go out through the platforms' APIs from the worker."""
