"""The import direction of DESIGN.md section 4, checked on the code: each app imports only apps to
its left (peers at the same level not at all), so an app can be understood, tested and changed
without the ones that build on it. What must reach to the right goes through the registries in
core (events, navigation, homes, panels) and renewals' step registry. Tests and migrations are
exempt (a test may drive the whole product; migrations name models by string)."""

import ast
from pathlib import Path

from django.conf import settings

ROOT = Path(settings.BASE_DIR)
# level of each app: an app may import apps of a lower level (and itself)
LEVELS = {
    "core": 0, "accounts": 0, "audit": 0,
    "policies": 1,
    "billing": 2,
    "outreach": 3, "risk": 3, "scoring": 3,
    "renewals": 4,
    "reporting": 5,
    "simulation": 6,  # the demo department drives every app; nothing imports it
}
# the three foundations import each other in this order only
FOUNDATION_ORDER = ["core", "accounts", "audit"]


def _allowed(importer: str, imported: str) -> bool:
    if importer == imported:
        return True
    if importer in FOUNDATION_ORDER and imported in FOUNDATION_ORDER:
        return FOUNDATION_ORDER.index(imported) < FOUNDATION_ORDER.index(importer)
    return LEVELS[imported] < LEVELS[importer]


def _imports(path: Path) -> list[tuple[int, str]]:
    found = []
    for node in ast.walk(ast.parse(path.read_text(), filename=str(path))):
        if isinstance(node, ast.Import):
            found += [(node.lineno, alias.name.split(".")[0]) for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.append((node.lineno, node.module.split(".")[0]))
    return found


def test_every_app_imports_only_apps_to_its_left():
    wrong = []
    checked = 0
    for app in LEVELS:
        for path in sorted((ROOT / app).rglob("*.py")):
            parts = path.relative_to(ROOT / app).parts
            if "tests" in parts or "migrations" in parts or parts[0] == "management" and app == "simulation":
                continue
            checked += 1
            for line, module in _imports(path):
                if module in LEVELS and not _allowed(app, module):
                    wrong.append(f"{path.relative_to(ROOT)}:{line} imports {module}")
    assert checked > 100
    assert wrong == [], "imports against DESIGN.md section 4:\n" + "\n".join(wrong)


def test_core_accounts_audit_policies_billing_never_name_an_app_to_their_right_in_sql_either():
    """A table of an app to the right named in SQL text is an import by another name."""
    right_tables = {"renewals_", "reporting_", "risk_", "outreach_", "scoring_", "simulation_"}
    wrong = []
    for app in ("core", "accounts", "audit", "policies", "billing"):
        for path in sorted((ROOT / app).rglob("*.py")):
            if "tests" in path.parts or "migrations" in path.parts:
                continue
            text = path.read_text()
            wrong += [f"{path.relative_to(ROOT)} names {t}*" for t in right_tables if f" {t}" in text]
    assert wrong == []
