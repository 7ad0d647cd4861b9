"""Development-only code, a Django app installed only in the demo (``LINKBRIDGE_DEMO=1``): the Link sandbox
(``dev/sandbox``, ``manage.py link_sandbox`` or ``python -m dev.sandbox``), the demo (``manage.py link_demo``)
and the process runner of ``make run``, the end-to-end tests and the bench. Production code never imports it
(the import contracts in pyproject.toml, ``lint-imports``; tests/unit/test_layout.py)."""
