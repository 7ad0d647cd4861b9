"""Production code never imports the dev-only package (dev/: the demo and the process runner)."""

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
DEMO_COMMAND = ROOT / "integration" / "management" / "commands" / "link_demo.py"  # the dev package's one door


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
    assert len(modules) > 50 and DEMO_COMMAND in modules
    assert dev_imports(DEMO_COMMAND) == ["dev.demo"]
    found = {str(path.relative_to(ROOT)): dev_imports(path) for path in modules if path != DEMO_COMMAND}
    assert {module: names for module, names in found.items() if names} == {}
