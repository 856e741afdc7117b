"""Fees (B11): the schedule lives with the money settings (:mod:`qianbao.moneyconf.fees`), which
the finance console changes; re-exported here for the wallet's use cases."""

from qianbao.moneyconf.fees import FeeSchedule

__all__ = ["FeeSchedule"]
