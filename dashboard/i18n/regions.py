"""Strings of the regional and people reports (/regions, /inspectors), their API and exports."""

STRINGS = {
    # ---- request errors (API 400, page messages)
    "report.bad_date": ("参数 {name} 应为 YYYY-MM-DD 格式的日期，收到「{value}」", "{name} must be a date YYYY-MM-DD, got '{value}'"),
    "report.reversed": ("开始日期 {first} 晚于结束日期 {last}", "from {first} is after to {last}"),
    "report.too_long": ("统计期最长 {days} 天", "the period may span at most {days} days"),
    "report.bad_level": ("未知层级「{level}」，可选：{levels}", "unknown level '{level}' (one of {levels})"),
    "report.bad_parent": ("上级区域 {parent} 不存在或不是「{level}」的上一级", "parent {parent} is not a region one level above '{level}'"),
    "report.bad_region": ("区域 {code} 不存在", "unknown region {code}"),
    "report.bad_format": ("未知格式「{value}」，可选：json, csv, xlsx", "unknown format '{value}' (one of json, csv, xlsx)"),
}
