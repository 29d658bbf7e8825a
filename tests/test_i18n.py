"""The catalogue itself: every key in both languages, English singulars where a count is
said, and the keys the localisation of issue 11 relies on (roles, audit values, map tools)."""
from __future__ import annotations

import re

from dashboard.domain.lifecycle import EventType
from dashboard.domain.permissions import ACTIONS, ROLES
from dashboard.i18n import CATALOGUE, t
from datasource.services.audit import OUTCOMES
from layouts.shell import DRAW_KEYS, draw_texts


def test_every_key_has_both_languages_and_the_same_placeholders():
    for key, texts in CATALOGUE.items():
        assert len(texts) in (2, 3) and all(isinstance(x, str) and x for x in texts[:2]), key
        zh, en = texts[0], texts[1]
        assert set(re.findall(r"\{(\w+)\}", zh)) == set(re.findall(r"\{(\w+)\}", en)), key
        if len(texts) == 3:   # an English singular: only for a count n, with the same placeholders
            assert "{n}" in en and set(re.findall(r"\{(\w+)\}", texts[2])) == set(re.findall(r"\{(\w+)\}", en)), key


def test_english_says_one_in_the_singular():
    assert t("unit.work_hours", "zh", n="4") == "4 个工作小时"
    assert t("unit.work_hours", "en", n="4") == "4 working hours" and t("unit.work_hours", "en", n="1") == "1 working hour"
    assert t("unit.work_days", "en", n="1") == "1 working day" and t("unit.minutes", "en", n="30") == "30 minutes"
    assert t("admin.page", "en", page=1, pages=1, n=1) == "page 1 of 1, 1 row"


def test_what_operators_read_instead_of_internal_codes():
    assert "版本" not in t("case.version", "zh", v=3) and "3" in t("case.version", "zh", v=3)
    assert t("cmd.no_category", "zh") == "请选择问题类别"


def test_roles_audit_values_and_map_tools_are_in_the_catalogue():
    keys = [f"role.{r}" for r in ROLES] + [f"audit.outcome.{o}" for o in OUTCOMES]
    keys += [f"audit.event.{e.value}" for e in EventType] + [f"action.{a}" for a in ACTIONS] + list(DRAW_KEYS)
    missing = [k for k in keys if k not in CATALOGUE]
    assert missing == []
    assert t("role.leader", "zh") == "领导" and t("role.leader", "en") == "Leader"
    assert '"draw.polygon": "画多边形选择案件"' in draw_texts("zh") and "Draw a polygon" in draw_texts("en")
