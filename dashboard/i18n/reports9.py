"""Strings of issue 9's finishing work: the sub-centre's briefing (a street's or a
community's own daily briefing) and the shared report pieces it added."""
from __future__ import annotations

STRINGS: dict[str, tuple[str, str]] = {
    "reports9.briefing.title": ("东城区{area}每日简报", "Dongcheng {area} Daily Briefing"),
    "reports9.briefing.scope": ("范围：{area}（分中心）——本简报的全部数字、地图与名单只含本辖区的案件。",
                                "Scope: {area} (sub-centre) — every figure, map and list of this briefing covers "
                                "its own cases only."),
    "reports9.briefing.forecast_total": ("{area}：{mean} 件（{level} 区间 {low}–{high}）",
                                         "{area}: {mean} cases ({level} interval {low}–{high})"),
    "reports9.briefing.forecast.accuracy": (
        "实测精度（近 {days} 天逐日回测）：{area}日总量 MAPE {mape_total}；{level} 区间覆盖率：类别组 {coverage}，{area}日总量 {coverage_total}。",
        "Measured accuracy (re-forecast each of the last {days} days): {area}'s daily total MAPE {mape_total}; {level} "
        "interval coverage: category groups {coverage}, {area}'s total {coverage_total}."),
    "reports9.briefing.text.forecast": (
        "预计{day}{area}新增案件 {mean} 件（{level} 预测区间 {low}–{high} 件）；近 {days} 天回测，日总量平均绝对百分比误差 {mape}，类别预测区间覆盖率 {coverage}。",
        "{day} is expected to bring {mean} new cases in {area} ({level} interval {low}–{high}); over the last {days} "
        "days its daily total's mean absolute percentage error was {mape} and {coverage} of category-group counts "
        "fell inside their intervals."),
}
