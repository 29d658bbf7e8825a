"""The shape of the house holds (import contracts); codes and routing are sane."""
import subprocess
import sys
from pathlib import Path

from dashboard.domain import codes

ROOT = Path(__file__).resolve().parent.parent


def test_import_contracts_hold():
    """The import-linter contracts of pyproject.toml (layers, the pure domain, independent
    pages): the same check ``make test`` runs first, here so a plain pytest run sees it too.
    In a subprocess: import-linter's own set-up must not touch this process's logging."""
    result = subprocess.run([str(Path(sys.executable).parent / "lint-imports"), "--config", str(ROOT / "pyproject.toml")],
                            cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stdout[-3000:]
    assert "0 broken" in result.stdout


def test_case_ids_and_codes():
    from datetime import date
    assert codes.case_id(date(2026, 11, 24), 123) == "DC20261124000123"
    assert codes.is_case_id("DC20261124000123") and not codes.is_case_id("DC2026112400012")
    assert codes.is_grid_code("110101001001001") and not codes.is_grid_code("11010100100100")
    assert codes.street_of("110101001001001") == "110101001"


def test_routing_covers_every_category(scenario):
    assert set(scenario.routing) == set(scenario.categories)
    for category in scenario.categories:
        department = scenario.department_for(category, "110101001")
        assert department in scenario.departments
    assert scenario.department_for("C0501", "110101005") == "street-110101005"


def test_every_setting_is_documented_in_readme():
    """Both ways: every field of Settings has a description and a row (with its variable) in
    README's Settings table, and every CITYGRID_* row of that table is a field."""
    import re
    from dashboard.settings import Settings
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    section = readme.split("\n## Settings\n", 1)[1].split("\n## ", 1)[0]
    rows = {m.group(1): m.group(2).strip() for m in re.finditer(r"^\| `(CITYGRID_\w+)` \|(.*)\|$", section, re.M)}
    names = Settings.env_names()
    assert [f for f, info in Settings.model_fields.items() if not info.description] == []
    assert sorted(set(names.values()) - set(rows)) == [], "settings missing from README's Settings table"
    assert sorted(set(rows) - set(names.values())) == [], "README documents settings that do not exist"
    assert [name for name, meaning in rows.items() if not meaning] == []
