"""The money settings in force (F2): fee plans, currencies' settings and the business calendar.

The environment's settings (``settings.payments``) are the defaults; what operators approved in
the finance console (``qianbao.finance``, four-eyes) is stored here and overrides them. The code
that charges a fee, computes an arrival date or a review threshold reads through
:mod:`qianbao.moneyconf.values` — one small query per read, so every process sees an approval at
once (no cache to invalidate across processes)."""
