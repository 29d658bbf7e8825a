"""The words of the simulated field: inspector names, case descriptions and the reasons
people give for rejecting, returning, reworking and suspending cases.

Kept apart from the story logic so the model reads as a model, and so a scenario for
another city only has to touch this file (or bring its own) to sound local.
"""
from __future__ import annotations

SURNAMES = "王李张刘陈杨赵黄周吴徐孙胡朱高林何郭马罗梁宋郑谢韩唐冯于董程曹袁邓许傅沈曾彭吕苏卢蒋蔡贾丁魏薛叶余潘杜戴夏钟汪田任姜范方石姚谭廖邹熊金陆郝孔白崔康毛邱秦江史顾侯邵孟龙万段雷钱汤尹黎易常武乔贺赖龚文"
GIVEN_NAMES = ("伟", "芳", "娜", "秀英", "敏", "静", "丽", "强", "磊", "军", "洋", "勇", "艳", "杰", "娟", "涛",
               "明", "超", "秀兰", "霞", "平", "刚", "桂英", "建华", "建国", "志强", "海燕", "丽华", "国庆", "红梅",
               "春生", "晓东", "文静", "子涵", "宇航", "浩然", "雪梅", "立新", "永刚", "淑珍", "振华", "玉兰",
               "德明", "凤英", "小龙", "佳怡", "思远", "嘉豪", "欣悦", "鹏飞")

#: category code → sentence templates; ``{place}`` is a road, facility or street name.
DESCRIPTIONS: dict[str, tuple[str, ...]] = {
    "C0101": ("{place}上水井盖破损，存在安全隐患", "{place}上水井盖缺失，已设置临时警示"),
    "C0102": ("{place}污水井盖缺失，行人易踩空", "{place}污水井盖松动，车辆经过有响声"),
    "C0103": ("{place}雨水井盖破损下沉", "{place}雨水井盖移位"),
    "C0104": ("{place}雨水箅子堵塞，雨后积水", "{place}雨水箅子破损"),
    "C0105": ("{place}电力井盖破损", "{place}电力井盖高出路面"),
    "C0117": ("{place}立杆倾斜，有倒伏风险", "{place}废弃立杆未拆除"),
    "C0118": ("{place}路灯夜间不亮", "{place}连续三盏路灯不亮", "{place}路灯灯罩脱落"),
    "C0121": ("{place}报刊亭破损，占用人行道", "{place}报刊亭废弃未拆除"),
    "C0123": ("{place}邮筒破损", "{place}邮筒表面乱贴小广告"),
    "C0126": ("{place}健身器材损坏，存在安全隐患", "{place}健身设施零件缺失"),
    "C0201": ("{place}停车场道闸损坏", "{place}停车场标线模糊"),
    "C0203": ("{place}公交站亭玻璃破碎", "{place}公交站亭顶棚破损"),
    "C0206": ("{place}过街天桥台阶破损", "{place}过街天桥栏杆松动"),
    "C0211": ("{place}交通信号灯故障", "{place}交通信号灯不亮"),
    "C0212": ("{place}交通护栏被撞倒", "{place}交通护栏缺失一段"),
    "C0214": ("{place}路名牌缺失", "{place}路名牌字迹不清"),
    "C0301": ("{place}公共厕所设施损坏", "{place}公共厕所卫生状况差，有异味"),
    "C0305": ("{place}垃圾箱满溢", "{place}垃圾箱破损", "{place}垃圾箱缺失"),
    "C0307": ("{place}广告牌匾破损，有坠落风险", "{place}广告牌匾字迹残缺"),
    "C0401": ("{place}古树名木枝干枯死，需修剪", "{place}古树名木周边堆放杂物"),
    "C0402": ("{place}行道树倒伏", "{place}行道树枝条遮挡路灯", "{place}行道树死亡未补植"),
    "C0405": ("{place}绿地被踩踏裸露", "{place}绿地内堆放垃圾"),
    "C0407": ("{place}街头坐椅损坏", "{place}街头坐椅缺失木条"),
    "C0501": ("{place}宣传栏破损", "{place}宣传栏内容过期未更换"),
    "C0602": ("{place}工地围挡破损", "{place}工地出入口未冲洗车辆"),
    "E0101": ("{place}有人私搭乱建", "{place}居民违规搭建棚屋"),
    "E0102": ("{place}有暴露垃圾", "{place}路边有暴露垃圾未清运"),
    "E0103": ("{place}积存垃圾渣土", "{place}渣土堆放多日未清理"),
    "E0104": ("{place}道路不洁，有油污", "{place}路面落叶和杂物较多"),
    "E0107": ("{place}有废弃车辆长期停放", "{place}僵尸自行车堆放"),
    "E0201": ("{place}墙面张贴非法小广告", "{place}电线杆上有小广告"),
    "E0302": ("{place}工地扬尘严重，未覆盖", "{place}施工现场未采取降尘措施"),
    "E0304": ("{place}施工占道，影响通行", "{place}施工材料占用人行道"),
    "E0401": ("{place}路面塌陷，已设置警示", "{place}路面出现塌陷坑洞"),
    "E0402": ("{place}自来水管破裂，路面冒水", "{place}自来水管漏水"),
    "E0404": ("{place}下水道堵塞，污水外溢", "{place}下水道返味堵塞"),
    "E0406": ("{place}道路积水，影响通行", "{place}雨后积水未排"),
    "E0407": ("{place}道路积雪结冰，行人易滑倒", "{place}人行道结冰未清理"),
    "E0501": ("{place}有无照经营游商", "{place}流动商贩占道经营"),
    "E0504": ("{place}商户店外经营", "{place}餐馆门前摆放桌椅经营"),
    "E0505": ("{place}机动车乱停放，占用人行道", "{place}机动车违停堵塞消防通道"),
    "E0507": ("{place}乱堆物堆料", "{place}楼道外堆放杂物"),
}

REJECT_REASONS = ("重复上报", "不属于城市管理范围", "位置信息不准确，无法核实", "问题已自行消除", "照片不清晰，无法立案")
RETURN_REASONS = ("不属于本单位职责范围", "权属不清，请重新派遣", "派遣部门有误，应由属地街道处置", "该设施非本单位养护")
REWORK_REASONS = ("现场核查问题未解决", "处置不彻底，仍有残留", "处置后照片与现场不符", "问题复发，需重新处置")
SUSPEND_REASONS = ("需协调产权单位，暂无法处置", "涉及规划调整，挂账处理", "季节性原因，待条件具备后处置",
                   "需专项资金，待资金落实", "涉及历史遗留问题，需多部门会商")


def description(rng, category: str, name_zh: str, place: str) -> str:
    """A short report sentence for ``category`` at ``place``."""
    templates = DESCRIPTIONS.get(category) or ("{place}发现" + name_zh + "问题",)
    return rng.choice(templates).format(place=place)


def person_name(rng) -> str:
    """A plausible Chinese personal name (surname + given name)."""
    return rng.choice(SURNAMES) + rng.choice(GIVEN_NAMES)

#: what a department writes when it reports a case handled (issue 11: a note is required)
HANDLE_NOTES = ("已处置完毕", "已清理干净", "已修复", "已更换", "已整改到位", "已拆除", "已清运", "已协调相关单位处理")
#: what reporters say on a return visit (回访), by result
VISIT_NOTES = {
    "satisfied": ("处理及时，很满意", "问题已解决，感谢", "效果很好"),
    "basically": ("基本解决，希望保持", "处理了，但速度一般", "基本满意"),
    "unsatisfied": ("问题没有彻底解决", "处理后又出现了", "等待时间太长", "现场仍未整改"),
}
