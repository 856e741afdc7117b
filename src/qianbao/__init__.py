"""Qianbao (钱包): a self-hostable digital wallet platform with a built-in customer service desk."""

__version__ = "0.1.0"
