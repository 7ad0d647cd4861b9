"""Issue 11 rows 1 and 12: the demo and production are different modes; production is HTTPS-tight."""

import importlib.util
import os
import secrets
import subprocess
import sys

import pytest
from django.contrib.auth import get_user_model
from django.contrib.auth.password_validation import validate_password
from django.core.exceptions import ValidationError
from django.core.management import CommandError, call_command

from dev.processes import ROOT

REQUIRED = ["SECRET_KEY", "LINK_BASE_URL", "LINK_CLIENT_ID", "LINK_CLIENT_SECRET", "LINK_WEBHOOK_SECRETS"]
PRODUCTION = {
    "SECRET_KEY": secrets.token_urlsafe(50),
    "LINK_BASE_URL": "https://link.example.com",
    "LINK_CLIENT_ID": "mp-client",
    "LINK_CLIENT_SECRET": "mp-secret",
    "LINK_WEBHOOK_SECRETS": "whsec-prod",
    "ALLOWED_HOSTS": "mp.example.com",
}


def run(argv: list[str], **env) -> subprocess.CompletedProcess:
    """A process started as production starts it: the project's settings, only the given environment."""
    base = {"PATH": os.environ["PATH"], "DJANGO_SETTINGS_MODULE": "linkbridge.settings"}
    base["DATABASE_URL"] = os.environ.get("DATABASE_URL", "sqlite:///unused.sqlite3")
    return subprocess.run(
        [sys.executable, *argv], cwd=ROOT, env={**base, **env}, capture_output=True, text=True, timeout=120
    )


@pytest.mark.parametrize(
    "argv",
    [["manage.py", "check"], ["manage.py", "qcluster"], ["-c", "import linkbridge.wsgi"]],
    ids=["command", "worker", "web"],
)
def test_production_refuses_to_start_naming_every_missing_setting(argv):
    done = run(argv, LINK_CLIENT_ID="mp-client")
    assert done.returncode != 0
    lines = [line for line in done.stderr.splitlines() if "Missing settings:" in line]
    assert len(lines) == 1, done.stderr
    for name in REQUIRED:
        assert (name in lines[0]) == (name != "LINK_CLIENT_ID"), lines[0]


def test_production_starts_with_every_setting_and_check_deploy_is_silent():
    done = run(["manage.py", "check", "--deploy", "--fail-level", "WARNING"], **PRODUCTION)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "System check identified no issues (0 silenced)." in done.stdout


def test_production_refuses_mp_webhook_hosts_that_are_not_hosts():
    done = run(["manage.py", "check"], **PRODUCTION, MP_WEBHOOK_HOSTS="hooks.mp.example,https://x.example/in")
    assert done.returncode != 0
    assert "MP_WEBHOOK_HOSTS takes hosts" in done.stderr and "'https://x.example/in'" in done.stderr
    assert "hooks.mp.example'" not in done.stderr
    done = run(["manage.py", "check"], **PRODUCTION, MP_WEBHOOK_HOSTS="hooks.mp.example,127.0.0.1:8443,[::1]:9000")
    assert done.returncode == 0, done.stderr


def test_production_refuses_failing_endpoints_taking_every_delivery_worker():
    done = run(["manage.py", "check"], **PRODUCTION, MP_WEBHOOK_WORKERS="4", MP_WEBHOOK_FAILING_PLACES="4")
    assert done.returncode != 0
    assert "MP_WEBHOOK_FAILING_PLACES must be at least 1 and fewer than MP_WEBHOOK_WORKERS (4), not 4." in done.stderr
    done = run(["manage.py", "check"], **PRODUCTION, MP_WEBHOOK_WORKERS="6", MP_WEBHOOK_FAILING_PLACES="5")
    assert done.returncode == 0, done.stderr


def test_production_refuses_a_number_setting_that_is_not_one_or_out_of_range_naming_it():
    done = run(["manage.py", "check"], **PRODUCTION, LINK_READ_TIMEOUT="0")
    assert done.returncode != 0
    assert done.stderr == "linkbridge refuses to start: LINK_READ_TIMEOUT must be at least 0.1, not 0.\n"


def test_production_refuses_timeouts_that_let_one_try_outlive_the_task_timeout():
    done = run(["manage.py", "check"], **PRODUCTION, LINK_READ_TIMEOUT="20", LINK_RESPONSE_DEADLINE="40")
    assert done.stderr == (
        "linkbridge refuses to start: LINK_CONNECT_TIMEOUT + LINK_READ_TIMEOUT (23 s) with a token fetch and "
        "LINK_RESPONSE_DEADLINE (40 s) let one try to Link take 63 s, past the workers' 60 s task timeout: "
        "lower them.\n"
    )
    done = run(["manage.py", "check"], **PRODUCTION, MP_WEBHOOK_READ_TIMEOUT="58")
    assert "MP_WEBHOOK_CONNECT_TIMEOUT + MP_WEBHOOK_READ_TIMEOUT must stay under" in done.stderr
    done = run(["manage.py", "check"], **PRODUCTION, LINK_READ_TIMEOUT="20", LINK_RESPONSE_DEADLINE="25")
    assert done.returncode == 0, done.stderr


@pytest.mark.parametrize(
    ("name", "value", "message"),
    [
        ("Q_WORKERS", "four", "Q_WORKERS must be a whole number, not 'four'."),
        ("Q_WORKERS", "2.5", "Q_WORKERS must be a whole number, not '2.5'."),
        ("LINK_RETRY_BASE", "nan", "LINK_RETRY_BASE must be a number, not 'nan'."),
        ("MP_WEBHOOK_CONCURRENCY", "0", "MP_WEBHOOK_CONCURRENCY must be at least 1, not 0."),
        ("ORDER_TOTAL_MAX", "3000000000", "ORDER_TOTAL_MAX must be from 1 to 2147483647, not 3000000000."),
        ("RETAIN_WEBHOOK_DAYS", "0", "RETAIN_WEBHOOK_DAYS must be at least 1, not 0."),
    ],
)
def test_number_settings_are_read_or_refused_with_their_name(monkeypatch, name, value, message):
    from django.core.exceptions import ImproperlyConfigured

    from linkbridge.settings import env_days, env_number

    read = (lambda: env_days(name, "30")) if name.startswith("RETAIN_") else (lambda: _read(env_number, name))
    monkeypatch.setenv(name, value)
    with pytest.raises(ImproperlyConfigured) as refused:
        read()
    assert str(refused.value) == message
    monkeypatch.setenv(name, " ")
    assert read() == (None if name.startswith("RETAIN_") else 7)  # empty: the default (retention: for ever)


def _read(env_number, name):
    bounds = {"ORDER_TOTAL_MAX": {"maximum": 2**31 - 1}, "LINK_RETRY_BASE": {"cast": float}}
    return env_number(name, 7, minimum=1, **bounds.get(name, {}))


def test_without_https_check_deploy_names_what_is_missing():
    done = run(["manage.py", "check", "--deploy"], **PRODUCTION, LINKBRIDGE_HTTPS="0")
    for warning in ("W004", "W008", "W012", "W016"):
        assert f"security.{warning}" in done.stdout + done.stderr


def test_demo_fills_in_dev_values():
    done = run(["manage.py", "check"], LINKBRIDGE_DEMO="1")
    assert done.returncode == 0, done.stderr


@pytest.mark.django_db
def test_demo_users_and_token_exist_only_in_the_demo(settings):
    settings.LINKBRIDGE_DEMO = False
    with pytest.raises(CommandError, match="LINKBRIDGE_DEMO=1"):
        call_command("link_demo", "setup")
    assert not get_user_model().objects.exists()


@pytest.mark.django_db
def test_the_demo_receiver_exists_only_in_the_demo(settings):
    settings.LINKBRIDGE_DEMO = False
    with pytest.raises(CommandError, match="LINKBRIDGE_DEMO=1"):
        call_command("link_demo", "receiver", "--port", "0")
    assert not get_user_model().objects.exists()
    assert "MP_WEBHOOK_HOSTS" not in _run_script().run_env({"PATH": "/bin", "LINK_BASE_URL": "https://l.example"})[0]


def _run_script():
    spec = importlib.util.spec_from_file_location("run_script", ROOT / "scripts" / "run.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.mark.postgres_only
def test_make_run_names_a_missing_database_and_how_to_create_it(db):
    from django.db import connection

    run = subprocess.run(
        [sys.executable, "scripts/run.py"],
        cwd=ROOT,
        env={**os.environ, "DATABASE_URL": f"postgres://{connection.settings_dict['HOST']}/linkbridge_no_such_db"},
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert run.returncode == 1
    assert "'linkbridge_no_such_db'" in run.stderr and "createdb linkbridge_no_such_db" in run.stderr
    assert "Traceback" not in run.stderr and "migrating" not in run.stdout
    existing = f"postgres://{connection.settings_dict['HOST']}/{connection.settings_dict['NAME']}"  # the suite's
    assert _run_script().missing_database(existing) is None


def test_make_run_stops_on_a_refused_setting_with_its_message_and_no_traceback(tmp_path):
    env = {**os.environ, "DATABASE_URL": f"sqlite:///{tmp_path / 'x.sqlite3'}", "Q_WORKERS": "four"}
    run = subprocess.run([sys.executable, "scripts/run.py"], cwd=ROOT, env=env, capture_output=True, text=True)
    assert run.returncode == 1
    assert "linkbridge refuses to start: Q_WORKERS must be a whole number, not 'four'." in run.stderr
    assert "Traceback" not in run.stderr


def test_make_run_is_the_demo_only_without_link_base_url():
    run_env = _run_script().run_env
    env, demo = run_env({"PATH": "/bin"})
    assert demo and env["LINKBRIDGE_DEMO"] == "1"
    env, demo = run_env({"PATH": "/bin", "LINK_BASE_URL": "https://link.example.com"})
    assert not demo and "LINKBRIDGE_DEMO" not in env and env["LINK_BASE_URL"] == "https://link.example.com"


@pytest.mark.parametrize("password", ["admin", "support", "12345678901234"])
def test_passwords_are_validated(password):
    with pytest.raises(ValidationError):
        validate_password(password)


def test_h14_production_refuses_one_delivery_worker_which_failing_endpoints_could_take():
    """README: MP_WEBHOOK_FAILING_PLACES (at least 1) must be fewer than MP_WEBHOOK_WORKERS: one worker cannot be."""
    for extra in ({}, {"MP_WEBHOOK_FAILING_PLACES": "1"}):
        done = run(["manage.py", "check"], **PRODUCTION, MP_WEBHOOK_WORKERS="1", **extra)
        assert done.returncode != 0, done.stderr
        assert done.stderr.startswith("linkbridge refuses to start: MP_WEBHOOK_WORKERS must be at least 2"), done.stderr
    done = run(["manage.py", "check"], **PRODUCTION, MP_WEBHOOK_WORKERS="2")
    assert done.returncode == 0, done.stderr


def test_production_refuses_a_metrics_token_without_a_multiprocess_directory(tmp_path):
    """Each gunicorn and django-q2 process would count in its own memory: /metrics would show one process's share."""
    done = run(["manage.py", "check"], **PRODUCTION, METRICS_TOKEN="scrape-me")
    assert done.returncode != 0
    lines = [line for line in done.stderr.splitlines() if "PROMETHEUS_MULTIPROC_DIR" in line]
    assert len(lines) == 1 and lines[0].startswith("linkbridge refuses to start: "), done.stderr
    done = run(["manage.py", "check"], **PRODUCTION, METRICS_TOKEN="scrape-me", PROMETHEUS_MULTIPROC_DIR=str(tmp_path))
    assert done.returncode == 0, done.stderr
    done = run(["manage.py", "check"], **PRODUCTION)  # no token: /metrics is off, nothing to refuse
    assert done.returncode == 0, done.stderr
