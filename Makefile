VENV ?= .venv
PY := $(VENV)/bin/python
PYTHON ?= python3
# Extra pytest arguments for `make test` / `make test-all`, e.g. a subset: `make test PYTEST_ARGS="tests/unit -k outage"`.
# Fast reruns keep the test database (pytest-django): `make test PYTEST_ARGS=--reuse-db` saves its ~7 s build; it
# is built anew when the last run's transactional tests flushed it (tests/conftest.py) or, after a migration
# changed, with `PYTEST_ARGS="--reuse-db --create-db"` once.
PYTEST_ARGS ?=
# `make test`: lint, then every test but the real-process tiers (under 2 minutes on 2 cores);
# `make test-all` (CI): lint, then the whole suite, those tiers too (e2e stacks, the chaos run, a real Chromium).
SLOW_TIERS := e2e or chaos or browser or sweep

.PHONY: install lint test test-all run bench clean

$(VENV)/.installed: requirements.txt
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --disable-pip-version-check -r requirements.txt
	touch $@

install: $(VENV)/.installed

# lint: the docs site built strictly, ruff's checks and format check, the type checker (mypy: services/, link/ and
# selectors/, configured in pyproject.toml) and the import contracts (lint-imports, [tool.importlinter]).
lint: install docs-check
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	$(VENV)/bin/mypy
	$(VENV)/bin/lint-imports --no-logo

# The docs site (docs/, mkdocs.yml): served on :8001 beside make run's :8000; docs-check is part of lint.
# No --quiet: in mkdocs 1.6.1 it drops the warnings --strict counts, so broken links would pass (mkdocs#4126).
.PHONY: docs docs-check
docs: install
	NO_MKDOCS_2_WARNING=1 $(VENV)/bin/mkdocs serve

docs-check: install
	NO_MKDOCS_2_WARNING=1 $(VENV)/bin/mkdocs build --strict --site-dir site

# $(1): the pytest arguments that choose the tier.
define run_pytest
	@DB_URL=$$($(PY) scripts/pick_database.py) || exit 1; \
	echo "test database: $$DB_URL"; \
	DATABASE_URL=$$DB_URL $(VENV)/bin/pytest $(1) $(PYTEST_ARGS)
endef

test: lint
	$(call run_pytest,-m "not ($(SLOW_TIERS))")

test-all: lint
	$(call run_pytest,)

run: install
	$(PY) scripts/run.py

# The console's screenshots in docs/ (docs/subsystems/console.md), taken by the browser tests on a real stack.
.PHONY: screenshots
screenshots: install
	@DB_URL=$$(REQUIRE_POSTGRES=1 $(PY) scripts/pick_database.py) || exit 1; \
	CONSOLE_SCREENSHOTS=docs DATABASE_URL=$$DB_URL $(VENV)/bin/pytest -q -m browser \
		tests/browser/test_console_reads.py tests/browser/test_live_console.py

bench: install
	@DB_URL=$$(REQUIRE_POSTGRES=1 $(PY) scripts/pick_database.py) || exit 1; \
	DATABASE_URL=$$DB_URL $(PY) -m tests.bench.run

clean:
	rm -rf $(VENV) staticfiles .pytest_cache .ruff_cache .mypy_cache .import_linter_cache test-artifacts *.sqlite3*
