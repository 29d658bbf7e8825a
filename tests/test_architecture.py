"""The domain core imports no infrastructure; codes and routing are sane."""
import ast
from pathlib import Path

from dashboard.domain import codes

DOMAIN = Path(__file__).resolve().parent.parent / "dashboard" / "domain"
FORBIDDEN = ("dash", "redis", "sqlalchemy", "flask", "shapely", "pandas", "plotly", "datasource", "callbacks", "layouts")


def test_domain_imports_only_standard_library_and_itself():
    offenders = []
    for path in DOMAIN.glob("*.py"):
        for node in ast.walk(ast.parse(path.read_text())):
            names = []
            if isinstance(node, ast.Import):
                names = [a.name for a in node.names]
            elif isinstance(node, ast.ImportFrom) and node.level == 0:
                names = [node.module or ""]
            offenders += [f"{path.name}: {n}" for n in names if n.split(".")[0] in FORBIDDEN]
    assert offenders == []


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
    from dashboard.settings import DOCUMENTED
    readme = (DOMAIN.parent.parent / "README.md").read_text()
    missing = [name for name in DOCUMENTED if name not in readme]
    assert missing == []
