"""Strings of the regional and people reports (/regions, /inspectors), their API and exports."""

STRINGS = {
    # ---- navigation and page titles
    "nav.regions": ("区域分析", "Regions"),
    "nav.inspectors": ("人员考核", "People"),
    "home.regions.desc": ("街道、社区、网格的案件密度、结案率与公众上报占比",
                          "Case density, closure and public-report share by street, community and grid"),
    "home.inspectors.desc": ("监督员漏报率、派遣员与值班考核", "Inspectors' missed reports, dispatchers and shifts"),
    # ---- request errors (API 400, page messages)
    "report.bad_date": ("参数 {name} 应为 YYYY-MM-DD 格式的日期，收到「{value}」",
                        "{name} must be a date YYYY-MM-DD, got '{value}'"),
    "report.reversed": ("开始日期 {first} 晚于结束日期 {last}", "from {first} is after to {last}"),
    "report.too_long": ("统计期最长 {days} 天", "the period may span at most {days} days"),
    "report.bad_level": ("未知层级「{level}」，可选：{levels}", "unknown level '{level}' (one of {levels})"),
    "report.bad_parent": ("上级区域 {parent} 不存在或不是「{level}」的上一级",
                          "parent {parent} is not a region one level above '{level}'"),
    "report.out_of_scope": ("{code} 不在本分中心（{scope}）辖区内", "{code} lies outside your area ({scope})"),
    "report.bad_region": ("区域 {code} 不存在", "unknown region {code}"),
    "report.bad_format": ("未知格式「{value}」，可选：json, csv, xlsx", "unknown format '{value}' (one of json, csv, xlsx)"),
    # ---- shared report chrome
    "report.period": ("统计期", "Period"),
    "report.period_note": ("按北京时间自然日，含首尾两天", "Beijing-time dates, both ends included"),
    "report.export_csv": ("导出 CSV", "Export CSV"),
    "report.export_xlsx": ("导出 Excel", "Export Excel"),
    "report.how": ("指标如何计算", "How is this computed"),
    "report.none": ("—", "—"),
    "report.yes": ("是", "yes"),
    "report.no": ("否", "no"),
    "report.rows": ("{n} 行", "{n} rows"),
    "report.chart_png": ("图表可用右上角相机按钮下载为 PNG", "Download a chart as PNG with the camera button at its top right"),
    # ---- /regions
    "regions.title": ("区域分析", "Regions"),
    "regions.district": ("东城区", "Dongcheng District"),
    "regions.metric": ("地图着色", "Map colour"),
    "regions.level.street": ("街道", "Streets"),
    "regions.level.community": ("社区", "Communities"),
    "regions.level.grid": ("网格", "Grids"),
    "regions.grid": ("网格 {code}", "Grid {code}"),
    "regions.grid_cases": ("网格 {code} 的案件（统计期内上报，最新在前）", "Cases of grid {code} (reported in the period, newest first)"),
    "regions.click_hint": ("点击地图或表格中的区域逐级下钻；点击上方路径返回", "Click a region on the map or in the table to drill down; click the path above to go back"),
    "regions.chart_title": ("{metric} · {level}", "{metric} · {level}"),
    "regions.legend": ("颜色越深越需关注", "Darker = needs attention"),
    "col.name": ("名称", "Name"),
    "col.code": ("编码", "Code"),
    "col.grids": ("网格数", "Grids"),
    "col.area_km2": ("面积(km²)", "Area (km²)"),
    "col.reports": ("上报数", "Reports"),
    "col.cases": ("立案数", "Cases filed"),
    "col.per_km2": ("每平方公里案件", "Cases per km²"),
    "col.per_grid": ("每网格案件", "Cases per grid"),
    "col.closure_rate": ("结案率", "Closure rate"),
    "col.on_time_closure_rate": ("按期结案率", "On-time closure rate"),
    "col.public_share": ("公众上报占比", "Public-report share"),
    "col.hotline": ("12345 件数", "12345 cases"),
    "col.top": ("高发类别", "Top categories"),
    "col.case_id": ("案件编号", "Case"),
    "col.category": ("类别", "Category"),
    "col.source": ("来源", "Source"),
    "col.stage": ("阶段", "Stage"),
    "col.reported_at": ("上报时间", "Reported"),
    "col.closed_at": ("结案时间", "Closed"),
    "col.handled_on_time": ("按期处置", "Handled on time"),
    "col.department": ("处置部门", "Department"),
    "col.reporter": ("上报人", "Reporter"),
    "def.regions.intro": ("统计对象：统计期内（北京时间，含首尾两天）上报、位于该区域的案件，跟踪到当前时刻。",
                          "Counted: cases reported in the region during the period (Beijing-time dates, both "
                          "ends included), followed up to now."),
    "def.regions.cases": ("立案数：已立案的案件（不含不予立案和尚待立案的上报）。上报数含全部来源和结果。",
                          "Cases filed: reports that were filed (rejected and still undecided reports are left "
                          "out). Reports counts every source and outcome."),
    "def.regions.density": ("每平方公里案件 = 立案数 ÷ 区域面积(km²)；每网格案件 = 立案数 ÷ 区域内单元网格数。",
                            "Cases per km² = cases filed ÷ area in km²; cases per grid = cases filed ÷ number "
                            "of unit grids in the region."),
    "def.regions.closure": ("结案率 = 已结案 ÷ 立案数；按期结案率 = 已结案且最后一次处置未超过处置时限的案件 ÷ 已结案。",
                            "Closure rate = closed ÷ cases filed; on-time closure rate = closed cases whose last "
                            "handling met its deadline ÷ closed cases."),
    "def.regions.public": ("公众上报占比 = 首报来源为 12345 热线、市民 App 或电话的立案数 ÷ 立案数（视频监控、接口、导入不算公众）。",
                           "Public-report share = cases first reported through the 12345 hotline, the citizen "
                           "app or by phone ÷ cases filed (cameras, other systems and imports are not the public)."),
    "def.regions.top": ("高发类别：立案数最多的三个类别（数量相同按编码排序）。无案件的比率显示为「—」。",
                        "Top categories: the three most frequent categories among the cases filed (ties by "
                        "code). A rate over no cases shows '—'."),
    # ---- /inspectors
    "people.title": ("人员考核", "People"),
    "people.inspectors": ("监督员", "Grid inspectors"),
    "people.dispatchers": ("派遣员", "Dispatchers"),
    "people.shifts": ("值班", "Shifts"),
    "people.map_title": ("漏报率地图：每个网格按其监督员的漏报率着色", "Missed-report map: each grid coloured by its inspector's missed-report rate"),
    "people.scatter_title": ("上报数与漏报率（左上角：报得少、公众替他报得多）",
                             "Reports vs missed-report rate (top left: reports little, the public reports for them)"),
    "people.shift_chart_title": ("各班次每日按时立案率", "On-time filing per shift and day"),
    "people.unrostered": ("另有 {n} 次核查由不在监督员名册中的人员（例如受理页面的用户）记录，未计入上表。",
                          "{n} more verification visits were recorded by people not on the inspector roster "
                          "(e.g. users of the intake page) and are not in the table."),
    "people.selected": ("监督员 {name}（{id}）：负责 {grids} 个网格", "Inspector {name} ({id}): {grids} grids"),
    "people.pick": ("点击地图上的网格或表格中的一行查看监督员", "Click a grid on the map or a row of the table to see its inspector"),
    "people.no_rate": ("无数据", "no data"),
    "shift.day": ("白班 08:00–16:00", "Day 08:00–16:00"),
    "shift.evening": ("中班 16:00–24:00", "Evening 16:00–24:00"),
    "shift.night": ("夜班 00:00–08:00", "Night 00:00–08:00"),
    "col.inspector": ("监督员", "Inspector"),
    "col.id": ("编号", "ID"),
    "col.street": ("街道", "Street"),
    "col.community": ("社区", "Community"),
    "col.valid_rate": ("有效上报率", "Valid-report rate"),
    "col.grid_filed": ("辖区立案数", "Cases in own grids"),
    "col.grid_public": ("其中公众首报", "of which public-first"),
    "col.missed_rate": ("漏报率", "Missed-report rate"),
    "col.verifications": ("核查次数", "Verifications"),
    "col.on_time_verification_rate": ("按时核查率", "On-time verification"),
    "col.on_time_check_rate": ("按时核实率", "On-time check"),
    "col.composite": ("综合得分", "Composite"),
    "col.grade": ("等级", "Grade"),
    "col.dispatcher": ("派遣员", "Dispatcher"),
    "col.dispatches": ("派遣数", "Dispatches"),
    "col.on_time_rate": ("按时派遣率", "On-time dispatch"),
    "col.returned": ("被退回", "Returned"),
    "col.accurate_rate": ("准确派遣率", "Accurate dispatch"),
    "col.volume_share": ("工作量(相对最多者)", "Volume (vs busiest)"),
    "col.shift": ("班次", "Shift"),
    "col.filings": ("立案决定数", "Filing decisions"),
    "col.on_time_filing_rate": ("按时立案率", "On-time filing"),
    "col.accurate_filing_rate": ("准确立案率", "Accurate filing"),
    "col.closings": ("结案数", "Closings"),
    "col.on_time_closing_rate": ("按时结案率", "On-time closing"),
    "col.staff": ("当班人员", "Staff"),
    "def.people.who": ("数据来源：监督员上报 = 来源为「监督员」、上报人为监督员编号的案件；监督员负责的网格见 inspectors.json；"
                       "核查 = 「核查通过」或「判定返工」事件，执行人为前往核查的人；派遣 = 「派遣」事件的执行人。",
                       "Where it comes from: an inspector's report = a case with source 'inspector' and the "
                       "inspector's id as reporter; an inspector's grids are those in inspectors.json; a "
                       "verification = a 'verified' or 'rework' event, its actor the person who went; a "
                       "dispatch = the actor of a 'dispatched' event."),
    "def.people.valid": ("有效上报率 = 已立案 ÷ 已作出立案决定（立案或不予立案）的本人上报。",
                         "Valid-report rate = filed ÷ the inspector's reports that were decided (filed or rejected)."),
    "def.people.missed": ("漏报率 = 本人负责网格内首报来源为公众（12345、App、电话）的立案数 ÷ 这些网格的立案数。"
                          "漏报率高说明问题多由市民发现，监督员没有上报——只看上报数会把这种情况掩盖。",
                          "Missed-report rate = cases in the inspector's grids first reported by the public "
                          "(12345, app, phone) ÷ cases filed in those grids. A high rate means residents "
                          "found the problems the inspector did not report — invisible if only reports are counted."),
    "def.people.verify": ("按时核查率 = 在核查时限内（自案件处置完成起，按 time_limits.json 的「处置后」阶段时限，工作时按工作日历计）完成的核查 ÷ 核查次数。",
                          "On-time verification = verification visits within the verification limit (from the "
                          "handling, the 'handled' stage limit of time_limits.json; working hours on the "
                          "working calendar) ÷ verification visits."),
    "def.people.check": ("按时核实率（公众上报立案前由监督员现场核实）：事件流中没有核实事件，无法计算，显示「—」；"
                         "综合得分按其余指标的权重折算到 100 分：(40×有效上报率 + 20×(1−漏报率) + 20×按时核查率) ÷ 80 × 100。",
                         "On-time check (an inspector confirming a public report before filing): the event "
                         "stream has no check event, so it cannot be computed and shows '—'; the composite "
                         "rescales the other weights to 100: (40·valid + 20·(1 − missed) + 20·on-time "
                         "verification) ÷ 80 × 100."),
    "def.people.dispatch": ("按时派遣率 = 在立案阶段时限内（自立案或退回起）完成的派遣 ÷ 派遣数；准确派遣率 = (派遣数 − 被部门退回的派遣) ÷ 派遣数；"
                            "工作量 = 派遣数 ÷ 同期派遣最多者的派遣数。综合 = 20×工作量 + 40×按时 + 40×准确。",
                            "On-time dispatch = dispatches within the filed-stage limit (from the filing or the "
                            "return) ÷ dispatches; accurate dispatch = (dispatches − dispatches the department "
                            "returned) ÷ dispatches; volume = dispatches ÷ the busiest dispatcher's in the same "
                            "period. Composite = 20·volume + 40·on-time + 40·accurate."),
    "def.people.shift": ("班次：指挥中心 24 小时三班倒（白班 08–16 时、中班 16–24 时、夜班 0–8 时），一件事算给其计时开始时在岗的班次："
                         "立案决定算给收到上报的班次，结案算给收到核查通过案件的班次。按时立案率 = 在上报阶段时限内作出的立案/不予立案决定 ÷ 决定数；"
                         "按时结案率 = 在核查后阶段时限内的结案 ÷ 结案数。准确立案率需要「作废」事件，生命周期中没有，显示「—」；"
                         "综合得分 = (25×按时立案 + 35×按时结案) ÷ 60 × 100。",
                         "Shifts: the centre works three 8-hour shifts (day 08–16, evening 16–24, night 0–8); "
                         "an act counts for the shift on duty when its clock started — a filing decision for "
                         "the shift that received the report, a closing for the shift that received the "
                         "verified case. On-time filing = filing decisions (filed or rejected) within the "
                         "reported-stage limit ÷ decisions; on-time closing = closings within the "
                         "verified-stage limit ÷ closings. Accurate filing needs a 'void' event the lifecycle "
                         "does not have, so it shows '—'; composite = (25·on-time filing + 35·on-time "
                         "closing) ÷ 60 × 100."),
    "def.people.period": ("统计对象：监督员上报与辖区立案按统计期内上报的案件计；核查、派遣、立案决定、结案按统计期内发生的事件计。"
                          "等级：A ≥ 90，B 75–90，C 60–75，D 40–60，E < 40；无数据的比率不计入综合得分。",
                          "Counted: reports and cases in the grids by the cases reported in the period; "
                          "verifications, dispatches, filing decisions and closings by the events done in the "
                          "period. Grades: A ≥ 90, B 75–90, C 60–75, D 40–60, E < 40; a rate with no data is "
                          "left out of the composite."),
}
