"""Alert rules: read from a TOML file with tomllib, checked field by field, never evaluated as code.

A rules file is a list of ``[[rule]]`` tables. Every rule has an ``id``, a ``kind`` and a
``severity`` (红 / 橙 / 黄, or critical / major / minor); ``name`` and ``name_en`` (its English, for
``--lang en``) are optional; the other fields depend on the kind and are listed in ``KIND_FIELDS``.
A value that is wrong is reported as one line naming the file, the line, the rule and the field,
for example::

    alert_rules.toml 第 14 行：规则 “change.rates_mom” 的字段 points 应为数字，而不是 “abc”
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..core.tomlfile import loads, read_text, show

SEVERITIES = ("红", "橙", "黄")  # most severe first
SEVERITY_RANK = {"红": 3, "橙": 2, "黄": 1}
SEVERITY_ALIASES = {"critical": "红", "major": "橙", "minor": "黄",
                    "红": "红", "橙": "橙", "黄": "黄"}
SEVERITY_LABELS = {"红": "红色（严重）", "橙": "橙色（较重）", "黄": "黄色（一般）"}

KINDS = ("threshold", "change", "anomaly", "target_lag", "missing", "events")
KIND_LABELS = {
    "threshold": "越线预警",
    "change": "变化预警",
    "anomaly": "历史异常",
    "target_lag": "目标滞后",
    "missing": "漏报迟报",
    "events": "事件预警",
}
LEVELS = ("township", "county", "any")
DIRECTIONS = ("worse", "better", "up", "down", "any")

_ID_RE = re.compile(r"^[A-Za-z0-9_.\-]{1,80}$")

# Fields every rule may have.
COMMON_FIELDS = ("id", "name", "name_en", "kind", "severity", "enabled", "description",
                 "indicators", "exclude", "level", "lookback", "escalate")
# Fields each kind adds (anything else in a rule is a mistake, most often a typo).
KIND_FIELDS: dict[str, tuple[str, ...]] = {
    "threshold": ("above", "below", "line"),
    "change": ("compare", "direction", "percent", "points", "min_base"),
    "anomaly": ("z", "min_change", "min_history", "direction", "transform", "min_baseline"),
    "target_lag": ("points", "percent", "fit_months"),
    "missing": ("mode", "min_share", "grace"),
    "events": ("mode", "min_count", "days", "factor", "history_months", "sources",
               "categories"),
}
# Defaults per kind, applied after validation.
DEFAULTS: dict[str, dict[str, Any]] = {
    "threshold": {"lookback": 1},
    "change": {"lookback": 1, "direction": "worse", "min_base": 0.0},
    "anomaly": {"lookback": 6, "z": 4.0, "min_change": 30.0, "min_history": 3,
                "direction": "worse", "transform": "log", "min_baseline": 0.0},
    "target_lag": {"lookback": 1, "fit_months": 24},
    "missing": {"lookback": 6, "min_share": 0.5, "grace": 0},
    "events": {"lookback": 1, "min_count": 5, "days": 90, "factor": 3.0, "history_months": 12},
}


class RuleError(ValueError):
    """A rules file cannot be used; the message is one line for the user."""

    def __init__(self, message: str, *, file: str = "", line: int | None = None,
                 rule: str | None = None, field: str | None = None):
        self.file, self.line, self.rule, self.field = file, line, rule, field
        where = file
        if line is not None:
            where += f" 第 {line} 行"
        super().__init__(f"{where}：{message}" if where else message)


@dataclass(frozen=True)
class Rule:
    id: str
    kind: str
    severity: str                      # 红 / 橙 / 黄: the severity when the rule just fires
    name: str = ""
    name_en: str = ""                  # the name in English (--lang en); optional
    description: str = ""
    enabled: bool = True
    indicators: tuple[str, ...] | None = None   # None: every indicator
    exclude: tuple[str, ...] = ()
    level: str = "any"                 # which regions: township / county / any
    lookback: int = 1                  # how many of each indicator's latest periods to examine
    # (severity, measure) pairs, most severe first: the alert escalates when its measure reaches
    # the value (the measure is the kind's own: the value, the change, z, the gap, a count).
    escalate: tuple[tuple[str, float], ...] = ()
    params: dict = field(default_factory=dict, compare=False)

    def param(self, key: str):
        return self.params.get(key, DEFAULTS[self.kind].get(key))

    @property
    def title(self) -> str:
        return self.name or self.id


def default_rules_path() -> Path:
    from ..paths import data_dir

    return data_dir() / "alert_rules.toml"


def user_rules_path() -> Path:
    """Where a user's own rules file lives; used instead of the bundled one when it exists."""
    from ..paths import home_dir

    return home_dir() / "alert_rules.toml"


def active_rules_path() -> Path:
    user = user_rules_path()
    return user if user.is_file() else default_rules_path()


# --- validation ---------------------------------------------------------------------------------
class _Checker:
    """Checks one rule table; every complaint names the rule and the field."""

    def __init__(self, table: dict, index: int, locate):
        self.table = table
        self.index = index
        self.locate = locate
        raw_id = table.get("id")
        self.rule_id = raw_id if isinstance(raw_id, str) and raw_id else None

    def fail(self, fld: str | None, message: str):
        who = f"规则 “{self.rule_id}”" if self.rule_id else f"第 {self.index} 条规则"
        what = f"{who} 的字段 {fld} {message}" if fld else f"{who} {message}"
        file, line = self.locate(self.rule_id, self.index, fld)
        raise RuleError(what, file=file, line=line, rule=self.rule_id, field=fld)

    def has(self, key: str) -> bool:
        return key in self.table

    def text(self, key: str, choices: tuple[str, ...] | None = None, default=None) -> str:
        if key not in self.table:
            if default is None:
                self.fail(key, "缺失" + (f"（可选：{' / '.join(choices)}）" if choices else ""))
            return default
        value = self.table[key]
        if choices is not None and (not isinstance(value, str) or value not in choices):
            self.fail(key, f"应为 {' / '.join(choices)} 之一，而不是 {show(value)}")
        if not isinstance(value, str) or not value.strip():
            self.fail(key, f"应为非空文本，而不是 {show(value)}")
        return value

    def number(self, key: str, *, minimum: float | None = None, above: float | None = None,
               maximum: float | None = None, integer: bool = False):
        value = self.table[key]
        ok_type = isinstance(value, int) if integer else isinstance(value, (int, float))
        if isinstance(value, bool) or not ok_type:
            self.fail(key, f"应为{'整数' if integer else '数字'}，而不是 {show(value)}")
        if value != value:  # NaN
            self.fail(key, "不能是 nan")
        if above is not None and not value > above:
            self.fail(key, f"应大于 {_num(above)}，而不是 {_num(value)}")
        if minimum is not None and value < minimum:
            self.fail(key, f"应不小于 {_num(minimum)}，而不是 {_num(value)}")
        if maximum is not None and value > maximum:
            self.fail(key, f"应不大于 {_num(maximum)}，而不是 {_num(value)}")
        return int(value) if integer else float(value)

    def codes(self, key: str, allow_star: bool = False) -> tuple[str, ...] | None:
        value = self.table[key]
        if allow_star and value == "*":
            return None
        if not isinstance(value, list) or not value or not all(
                isinstance(v, str) and v.strip() for v in value):
            expected = "非空的文本列表" + ("或 \"*\"（全部）" if allow_star else "")
            self.fail(key, f"应为{expected}，而不是 {show(value)}")
        return tuple(value)


def _num(value: float) -> str:
    return f"{value:g}"


def _check_rule(table: Any, index: int, locate) -> Rule:
    if not isinstance(table, dict):
        raise RuleError(f"第 {index} 条规则应为一个表（[[rule]]），而不是 {show(table)}",
                        file=locate(None, index, None)[0])
    c = _Checker(table, index, locate)
    if "id" not in table:
        c.fail("id", "缺失")
    rule_id = c.text("id")
    if not _ID_RE.match(rule_id):
        c.fail("id", "只能由字母、数字、点、下划线和连字符组成（不超过 80 个字符），而不是 "
               f"{show(rule_id)}")
    kind = c.text("kind", KINDS)
    severity_text = c.text("severity", tuple(SEVERITY_ALIASES))
    severity = SEVERITY_ALIASES[severity_text]
    allowed = set(COMMON_FIELDS) | set(KIND_FIELDS[kind])
    for key in table:
        if key not in allowed:
            c.fail(key, f"不是 {kind} 规则的字段（可用字段：{', '.join(sorted(allowed))}）")
    params: dict[str, Any] = {}
    name = c.text("name") if c.has("name") else ""
    name_en = c.text("name_en") if c.has("name_en") else ""
    description = c.text("description") if c.has("description") else ""
    enabled = True
    if c.has("enabled"):
        if not isinstance(table["enabled"], bool):
            c.fail("enabled", f"应为 true 或 false，而不是 {show(table['enabled'])}")
        enabled = table["enabled"]
    indicators = c.codes("indicators", allow_star=True) if c.has("indicators") else None
    exclude = c.codes("exclude") if c.has("exclude") else ()
    level = c.text("level", LEVELS) if c.has("level") else "any"
    lookback = (c.number("lookback", minimum=1, maximum=120, integer=True) if c.has("lookback")
                else DEFAULTS[kind]["lookback"])
    escalate: list[tuple[str, float]] = []
    if c.has("escalate"):
        table_e = table["escalate"]
        if not isinstance(table_e, dict) or not table_e:
            c.fail("escalate", "应为一个表，如 { 红 = 80 }，而不是 " + show(table_e))
        for key, value in table_e.items():
            if key not in SEVERITY_ALIASES:
                c.fail("escalate", f"的键应为 红 / 橙 / 黄，而不是 “{key}”")
            sev = SEVERITY_ALIASES[key]
            if SEVERITY_RANK[sev] <= SEVERITY_RANK[severity]:
                c.fail("escalate", f"中的 {key} 不高于规则本身的等级 {severity}，升级没有意义")
            if isinstance(value, bool) or not isinstance(value, (int, float)):
                c.fail("escalate", f"中 {key} 的值应为数字，而不是 {show(value)}")
            escalate.append((sev, float(value)))
        escalate.sort(key=lambda pair: -SEVERITY_RANK[pair[0]])

    if kind == "threshold":
        given = [k for k in ("above", "below", "line") if c.has(k)]
        if len(given) != 1:
            c.fail(None, "需要且只能有 above、below、line 中的一个字段（line 按指标极性判断：越低越差的"
                         "指标低于 line、越高越差的指标高于 line 即预警）")
        params[given[0]] = c.number(given[0])
    elif kind == "change":
        params["compare"] = c.text("compare", ("mom", "yoy"))
        if c.has("direction"):
            params["direction"] = c.text("direction", DIRECTIONS)
        if not (c.has("percent") or c.has("points")):
            c.fail(None, "需要 percent（非百分比指标的变化幅度，%）或 points（百分比指标的变化，个百分点）"
                         "中至少一个字段")
        for key in ("percent", "points"):
            if c.has(key):
                params[key] = c.number(key, above=0)
        if c.has("min_base"):
            params["min_base"] = c.number("min_base", minimum=0)
    elif kind == "anomaly":
        if c.has("z"):
            params["z"] = c.number("z", above=0)
        if c.has("min_change"):
            params["min_change"] = c.number("min_change", minimum=0)
        if c.has("min_history"):
            params["min_history"] = c.number("min_history", minimum=2, maximum=50, integer=True)
        if c.has("direction"):
            params["direction"] = c.text("direction", DIRECTIONS)
        if c.has("transform"):
            params["transform"] = c.text("transform", ("log", "linear"))
        if c.has("min_baseline"):
            params["min_baseline"] = c.number("min_baseline", minimum=0)
    elif kind == "target_lag":
        if not (c.has("percent") or c.has("points")):
            c.fail(None, "需要 points（百分比指标允许落后目标的个百分点）或 percent（其他指标允许落后目标的"
                         "百分比）中至少一个字段")
        for key in ("percent", "points"):
            if c.has(key):
                params[key] = c.number(key, minimum=0)
        if c.has("fit_months"):
            params["fit_months"] = c.number("fit_months", minimum=3, maximum=240, integer=True)
    elif kind == "missing":
        params["mode"] = c.text("mode", ("township_gap", "overdue"))
        if c.has("min_share"):
            params["min_share"] = c.number("min_share", above=0, maximum=1)
        if c.has("grace"):
            params["grace"] = c.number("grace", minimum=0, maximum=60, integer=True)
    elif kind == "events":
        params["mode"] = c.text("mode", ("overdue", "burst"))
        if c.has("min_count"):
            params["min_count"] = c.number("min_count", minimum=1, integer=True)
        if c.has("days"):
            params["days"] = c.number("days", minimum=1, maximum=3660, integer=True)
        if c.has("factor"):
            params["factor"] = c.number("factor", above=0)
        if c.has("history_months"):
            params["history_months"] = c.number("history_months", minimum=1, maximum=120,
                                                 integer=True)
        for key in ("sources", "categories"):
            if c.has(key):
                params[key] = c.codes(key)
    return Rule(id=rule_id, kind=kind, severity=severity, name=name, name_en=name_en,
                description=description, enabled=enabled, indicators=indicators,
                exclude=exclude, level=level, lookback=lookback, escalate=tuple(escalate),
                params=params)


def _locator(file_label: str, text: str):
    """Finds the line of a rule (by its id, else its position) and of one of its fields."""
    lines = text.splitlines()
    starts = [k for k, line in enumerate(lines) if line.strip().startswith("[[rule]]")]

    def locate(rule_id: str | None, index: int, fld: str | None):
        block = None
        if rule_id is not None:
            pattern = re.compile(r'^\s*id\s*=\s*["\']' + re.escape(rule_id) + r'["\']')
            for k, line in enumerate(lines):
                if pattern.match(line):
                    begin = max([s for s in starts if s <= k], default=k)
                    block = begin
                    break
        if block is None and 1 <= index <= len(starts):
            block = starts[index - 1]
        if block is None:
            return file_label, None
        end = min([s for s in starts if s > block], default=len(lines))
        if fld:
            field_re = re.compile(r"^\s*" + re.escape(fld) + r"\s*=")
            for k in range(block, end):
                if field_re.match(lines[k]):
                    return file_label, k + 1
        return file_label, block + 1

    return locate


def parse_rules(text: str, file_label: str = "alert_rules.toml") -> list[Rule]:
    """Rules from TOML text; raises RuleError (one line) on the first mistake."""
    data = loads(text, file_label, RuleError)
    locate = _locator(file_label, text)
    for key in data:
        if key not in ("rule", "version"):
            raise RuleError(f"未知的顶层字段 {key}（规则应写在 [[rule]] 表中）", file=file_label)
    tables = data.get("rule", [])
    if not isinstance(tables, list):
        raise RuleError("rule 应写成 [[rule]] 表的数组", file=file_label)
    rules: list[Rule] = []
    seen: dict[str, int] = {}
    for index, table in enumerate(tables, start=1):
        rule = _check_rule(table, index, locate)
        if rule.id in seen:
            _, line = locate(None, index, "id")
            raise RuleError(f"规则 “{rule.id}” 的字段 id 与第 {seen[rule.id]} 条规则重复",
                            file=file_label, line=line, rule=rule.id, field="id")
        seen[rule.id] = index
        rules.append(rule)
    return rules


def load_rules(path: Path | str | None = None) -> list[Rule]:
    """The rules in a TOML file (default: the user's file if any, else the bundled defaults)."""
    path = Path(path) if path is not None else active_rules_path()
    return parse_rules(read_text(path, "预警规则文件", RuleError), str(path))
