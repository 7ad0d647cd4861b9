VENV ?= .venv
PY := $(VENV)/bin/python
PYTHON ?= python3
PYTEST_ARGS ?=

.PHONY: install lint test run bench clean

$(VENV)/.installed: requirements.txt
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --disable-pip-version-check -r requirements.txt
	touch $@

install: $(VENV)/.installed

lint: install docs-check
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .

# The docs site (docs/, mkdocs.yml): served on :8001 beside make run's :8000; docs-check is part of lint.
# No --quiet: in mkdocs 1.6.1 it drops the warnings --strict counts, so broken links would pass (mkdocs#4126).
.PHONY: docs docs-check
docs: install
	NO_MKDOCS_2_WARNING=1 $(VENV)/bin/mkdocs serve

docs-check: install
	NO_MKDOCS_2_WARNING=1 $(VENV)/bin/mkdocs build --strict --site-dir site

test: lint
	@DB_URL=$$($(PY) scripts/pick_database.py) || exit 1; \
	echo "test database: $$DB_URL"; \
	DATABASE_URL=$$DB_URL $(VENV)/bin/pytest $(PYTEST_ARGS)

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
	rm -rf $(VENV) staticfiles .pytest_cache .ruff_cache test-artifacts *.sqlite3*
