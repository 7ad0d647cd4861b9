"""Issue 11 row 10, issue 23: Schemathesis (an independent API fuzzer) runs every check against the live
internal API, from the schema the API serves, on a real stack: zero failures of any check, and by name zero
server errors, zero answers that violate the schema and zero schema-valid requests rejected (the schema
says minLength / minItems where the API refuses "" or [], see api/schema.AutoSchema)."""

import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tests.waiting import wait_for

from .helpers import api_client

pytestmark = [pytest.mark.e2e, pytest.mark.postgres_only]

MAX_EXAMPLES = 25
# Schemathesis' names for the failures issue 23 counts (checks.py: kind_title), each of which must not occur.
MUST_NOT_OCCUR = [
    "Server error",
    "Response violates schema",
    "Undocumented status code",
    "Undocumented Content-Type",
    "Schema-valid request rejected",
]


def test_schemathesis_finds_nothing(stack_factory, tmp_path):
    stack = stack_factory(sandbox_args=("--seed", "7", "--no-auto"))
    stack.sandbox.connect_venue("ven_fz", name="Fuzz Shop", timezone="UTC", external_store_id="sf_fz")
    stack.sandbox.publish_menu("ven_fz", items=6, groups=2, modifiers=6, depth=2, seed=7)
    mp = api_client(stack, "fuzzer")
    wait_for(lambda: mp.get("/stores/sf_fz/menu/").status_code == 200, timeout=40, what="the menu to be live")
    cli = shutil.which("schemathesis", path=str(Path(sys.executable).parent))
    done = subprocess.run(
        [
            cli,
            "--config-file",
            str(Path(__file__).with_name("schemathesis.toml")),
            "run",
            f"{stack.web_url}/api/schema/?format=json",
            "--url",
            stack.web_url,
            "--checks",
            "all",
            "--max-examples",
            str(MAX_EXAMPLES),
            "--header",
            f"Authorization: Token {mp.session.headers['Authorization'].split()[1]}",
            "--workers",
            "1",
            "--seed",
            "11",
            "--request-timeout",
            "20",
            "--report",
            "junit",
            "--report-dir",
            str(tmp_path),
        ],
        capture_output=True,
        text=True,
        timeout=900,
    )
    print(done.stdout[-20000:])
    report = "".join(path.read_text() for path in tmp_path.glob("*.xml"))
    found = {title: done.stdout.count(title) + report.count(title) for title in MUST_NOT_OCCUR}
    assert found == dict.fromkeys(MUST_NOT_OCCUR, 0), found
    assert done.returncode == 0, done.stdout[-20000:] + done.stderr[-5000:]
    tested = re.search(r"(\d+) (?:generated|test cases)", done.stdout)
    assert "<testcase" in report and (tested is None or int(tested.group(1)) > 0), done.stdout[-3000:]
