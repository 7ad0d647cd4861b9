"""End-to-end tests run real stacks: the fixtures are in the stack plugin (tests/e2e/stack.py)."""

from tests.e2e.stack import link_settings, no_broker, pytest_runtest_makereport, stack_factory  # noqa: F401
