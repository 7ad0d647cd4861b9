"""Development-only code: the demo (``manage.py link_demo``) and the process runner of ``make run``,
the end-to-end tests and the bench. Production code never imports it (tests/unit/test_layout.py)."""
