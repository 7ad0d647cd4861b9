"""Availability (issue 26): the record of every change to whether a store takes orders and why
(``record``), the per store-day rollup (``rollup``). Reads: ``selectors.availability``. Alerts to people:
``services.ops.alerts``."""
