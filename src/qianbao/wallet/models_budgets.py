"""Spending insights and budgets (B13): a monthly budget per category and the alerts sent."""

from __future__ import annotations
