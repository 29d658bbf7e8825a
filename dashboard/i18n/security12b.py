"""Messages of the edge checks (:mod:`dashboard.domain.inputs`) and of read scopes (issue 12)."""
from __future__ import annotations

STRINGS: dict[str, tuple[str, str]] = {
    "inputs.bad_code": ("{field} 不是有效的代码：{value}", "{field} is not a valid code: {value}"),
    "inputs.out_of_range": ("{field} 超出范围 {low} … {high}", "{field} is outside {low} … {high}"),
    "inputs.time_range": ("{field} 不在 2000 至 2099 年之间：{value}", "{field} lies outside 2000 … 2099: {value}"),
    "inputs.too_deep": ("{field} 嵌套超过 {limit} 层", "{field} is nested deeper than {limit} levels"),
    "inputs.not_own_case": ("案件 {case} 不属于本部门", "case {case} is not your department's"),
}
