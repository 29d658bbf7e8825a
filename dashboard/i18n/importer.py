"""Strings of ``citygrid import`` (issue 14): the summary, the reasons a row is skipped."""

STRINGS = {
    "import.summary": ("读取 {read} 行：导入 {imported} 行（其中补充结案 {completed} 行），跳过 {skipped} 行；写入事件 {events} 条，用时 {seconds} 秒",
                       "read {read} rows: imported {imported} (of which completed {completed}), skipped {skipped}; "
                       "{events} events appended in {seconds} s"),
    "import.skipped_reason": ("  跳过（{reason}）：{n}", "  skipped ({reason}): {n}"),
    "import.skipped_file": ("跳过的行及原因已写入 {path}", "skipped rows with their reasons → {path}"),
    "import.created": ("新建部门 {departments} 个、类别 {categories} 个，已写入场景目录 {root}",
                       "created {departments} departments and {categories} categories in the scenario folder {root}"),
    "import.drained": ("入库：应用事件 {applied} 条，死信 {dead} 条", "projected: {applied} events applied, {dead} dead letters"),
    "import.not_drained": ("事件已写入事件流，尚未入库：运行 citygrid worker", "events are on the stream, not yet in the "
                           "database: run citygrid worker"),
    # ---- why a row is skipped (rows.REASONS)
    "import.reason.malformed": ("CSV 记录格式错误", "malformed CSV record"),
    "import.reason.missing_id": ("缺少编号", "missing id"),
    "import.reason.bad_text": ("含 NUL 字符或非 UTF-8 字节", "NUL character or bytes that are not UTF-8"),
    "import.reason.bad_date": ("日期无法识别", "bad date"),
    "import.reason.closed_without_date": ("状态为已结案但无结案时间", "closed without a closing time"),
    "import.reason.closed_before_opened": ("结案早于立案", "closed before opened"),
    "import.reason.in_future": ("时间晚于导入时刻", "in the future"),
    "import.reason.bad_due": ("期限不在立案后两年内", "due time not within two years after opening"),
    "import.reason.missing_position": ("缺少位置", "missing position"),
    "import.reason.bad_position": ("位置无效", "bad position"),
    "import.reason.outside_grids": ("不在任何单元网格内", "outside every unit grid"),
    "import.reason.missing_category": ("缺少类别", "missing category"),
    "import.reason.missing_department": ("缺少部门且类别无默认派遣部门", "missing department, and the category has no routing"),
    "import.reason.duplicate_id": ("编号重复", "duplicate id"),
    "import.reason.already_imported": ("已导入过（重复导入）", "already imported"),
    "import.reason.refused": ("事件流校验拒绝", "refused by the stream's check"),
}
