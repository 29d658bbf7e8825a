"""Departments and categories named by the data: found in the scenario, or created.

A source value names a department (category) the scenario knows when it equals one's code,
English or Chinese name (ignoring case and outer blanks).  Any other value creates one:

- a category ``E9NNNN`` (event class 9x is not used by the national lists, so created codes
  never collide with a standard one), kind ``event``, named by the value in both languages;
  ``routing.json`` sends it to the department most of its imported cases went to;
- a department whose code is the value's slug (``DPW Ops Queue`` → ``dpw-ops-queue``; a
  value without Latin letters or digits gets ``dept-`` + a short hash), kind ``professional``.

They are written into the scenario folder's ``departments.json``, ``categories.json`` and
``routing.json`` — the scenario is the one place every process (worker, web, ``rebuild``)
reads them from, so a replay of the stream into an empty database finds them again — and
inserted into the reference tables.  The bundled Dongcheng folder is part of the package and
is never changed: an import that needs new codes there is refused with a message saying how
to make a city folder.
"""
from __future__ import annotations

import hashlib
import json
import os
import re
import tempfile
from collections import Counter
from pathlib import Path

from sqlalchemy import insert, select

from dashboard.domain.scenario import DEFAULT_SCENARIO, Scenario
from datasource.store import schema

NAME_MAX = 64          # departments.name / categories.name
CODE_MAX = 32          # departments.code
CATEGORY_PREFIX = "E9"
BUNDLED = DEFAULT_SCENARIO.parent.resolve()


class ReferenceRefused(ValueError):
    """New departments or categories cannot be written (one line)."""


def _key(value: str) -> str:
    return " ".join(value.split()).casefold()


def slug(value: str) -> str:
    text = re.sub(r"[^a-z0-9]+", "-", value.casefold()).strip("-")
    return text[:CODE_MAX - 4].rstrip("-")


class Reference:
    """Source values → codes for one import; what it created."""

    def __init__(self, scenario: Scenario):
        self.scenario = scenario
        self._departments = _index((d.code, d.name_en, d.name_zh) for d in scenario.departments.values())
        self._categories = _index((c.code, c.name_en, c.name_zh) for c in scenario.categories.values())
        self.new_departments: dict[str, str] = {}      # code → name
        self.new_categories: dict[str, str] = {}
        self.routes: Counter = Counter()               # (created category, department) → cases
        used = [int(c[2:]) for c in scenario.categories if c.startswith(CATEGORY_PREFIX) and c[2:].isdigit()]
        self._next_category = max(used, default=0) + 1
        self._codes = set(scenario.departments)

    def department(self, value: str) -> str:
        code = self._departments.get(_key(value))
        if code is None:
            code = self._new_department_code(value)
            self.new_departments[code] = value[:NAME_MAX]
            self._departments[_key(value)] = code
        return code

    def known_category(self, value: str) -> str | None:
        """The code of a category the scenario (or this import) knows by ``value``; None otherwise."""
        return self._categories.get(_key(value))

    def category(self, value: str) -> str:
        code = self._categories.get(_key(value))
        if code is None:
            if self._next_category > 9999:
                raise ReferenceRefused("more than 9,999 categories created from the data: map the category column "
                                      "to a coarser field")
            code = f"{CATEGORY_PREFIX}{self._next_category:04d}"
            self._next_category += 1
            self.new_categories[code] = value[:NAME_MAX]
            self._categories[_key(value)] = code
        return code

    def routed(self, category: str, department: str, n: int = 1) -> None:
        if category in self.new_categories:
            self.routes[(category, department)] += n

    @property
    def created(self) -> bool:
        return bool(self.new_departments or self.new_categories)

    def _new_department_code(self, value: str) -> str:
        base = slug(value) or "dept-" + hashlib.blake2b(value.encode("utf-8", "surrogatepass"), digest_size=4).hexdigest()
        code, n = base, 2
        while code in self._codes:
            code, n = f"{base}-{n}", n + 1
        self._codes.add(code)
        return code

    # ------------------------------------------------------------------ writing
    def check_writable(self) -> None:
        """ReferenceRefused if the scenario folder must not be changed (the bundled one)."""
        if is_bundled(self.scenario.root):
            raise ReferenceRefused(
                f"the data names {len(self.new_departments)} department(s) and {len(self.new_categories)} "
                f"category(ies) the scenario does not know, and the bundled scenario {self.scenario.root} is never "
                f"changed: make a city folder (`citygrid city init DIR …`, or a copy of the bundled one) and run "
                f"the import with CITYGRID_SCENARIO=DIR")

    def write_scenario(self) -> None:
        """Add the created departments, categories and routes to the scenario's files."""
        if not self.created:
            return
        self.check_writable()
        root = self.scenario.root
        departments = _read(root / "departments.json")
        departments += [{"code": code, "name_zh": name, "name_en": name, "kind": "professional", "origin": "import"}
                        for code, name in self.new_departments.items()]
        categories = _read(root / "categories.json")
        categories += [{"code": code, "kind": "event", "name_zh": name, "name_en": name, "weight": 1,
                        "origin": "import"} for code, name in self.new_categories.items()]
        routing = _read(root / "routing.json")
        best: dict[str, tuple[int, str]] = {}
        for (category, department), n in sorted(self.routes.items()):
            if n > best.get(category, (0, ""))[0]:
                best[category] = (n, department)
        routing.update({category: department for category, (_, department) in sorted(best.items())})
        for name, data in (("departments.json", departments), ("categories.json", categories),
                           ("routing.json", routing)):
            _write(root / name, data)

    def insert_rows(self, engine) -> None:
        """Insert the reference rows the database lacks (see :func:`sync_rows`)."""
        if self.created:
            sync_rows(engine, self.new_departments, self.new_categories)


def is_bundled(root: Path) -> bool:
    """Whether ``root`` is a scenario folder shipped inside the package."""
    root = Path(root).resolve()
    return root == BUNDLED or BUNDLED in root.parents


def sync_rows(engine, departments: dict[str, str], categories: dict[str, str]) -> int:
    """Insert departments and categories (code → name) missing from the reference tables."""
    added = 0
    with engine.begin() as connection:
        have = set(connection.execute(select(schema.departments.c.code)).scalars())
        rows = [{"code": c, "name": n, "name_en": n, "kind": "professional"} for c, n in departments.items()
                if c not in have]
        if rows:
            connection.execute(insert(schema.departments), rows)
        have = set(connection.execute(select(schema.categories.c.code)).scalars())
        more = [{"code": c, "kind": "event", "name": n, "name_en": n} for c, n in categories.items() if c not in have]
        if more:
            connection.execute(insert(schema.categories), more)
        added = len(rows) + len(more)
    return added


def _index(entries) -> dict[str, str]:
    out: dict[str, str] = {}
    for code, *names in entries:
        for value in (*names, code):    # a code beats a name that happens to equal it
            if value:
                out[_key(value)] = code
    return out


def _read(path: Path):
    return json.loads(path.read_text(encoding="utf-8"))


def _write(path: Path, data) -> None:
    """Replace ``path`` atomically (a crash leaves the old file or the new one, never half)."""
    handle, temp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.")
    try:
        with os.fdopen(handle, "w", encoding="utf-8") as out:
            json.dump(data, out, ensure_ascii=False, indent=1)
            out.write("\n")
        os.replace(temp, path)
    except BaseException:
        Path(temp).unlink(missing_ok=True)
        raise
