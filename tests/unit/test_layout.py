"""Production code never imports the dev-only package (dev/: the sandbox, the demo, the process runner), and
production settings do not install it."""

import ast
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def dev_imports(path: Path) -> list[str]:
    names = []
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            names += [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            names.append(node.module)
    return [name for name in names if name == "dev" or name.startswith("dev.")]


def test_production_code_never_imports_the_dev_package():
    modules = [path for package in ("integration", "linkbridge") for path in (ROOT / package).rglob("*.py")]
    assert len(modules) > 50
    found = {str(path.relative_to(ROOT)): dev_imports(path) for path in modules}
    assert {module: names for module, names in found.items() if names} == {}
    assert dev_imports(ROOT / "dev" / "management" / "commands" / "link_demo.py") == ["dev.demo"]


def test_production_settings_do_not_install_the_dev_app():
    env = {k: v for k, v in os.environ.items() if k != "LINKBRIDGE_DEMO"}
    env |= {"SECRET_KEY": "x" * 50, "LINK_BASE_URL": "https://link.example", "LINK_CLIENT_ID": "id"}
    env |= {"LINK_CLIENT_SECRET": "s", "LINK_WEBHOOK_SECRETS": "w", "DJANGO_SETTINGS_MODULE": "linkbridge.settings"}
    code = "from django.conf import settings; print('dev' in settings.INSTALLED_APPS)"
    done = subprocess.run([sys.executable, "-c", code], cwd=ROOT, env=env, capture_output=True, text=True)
    assert done.stdout.strip() == "False", done.stderr
