"""Rules files: the bundled defaults load, and every mistake is one line naming rule and field."""
from __future__ import annotations


import pytest

from cockpit.alerts.rules import KINDS, RuleError, default_rules_path, load_rules, parse_rules

GOOD = """
[[rule]]
id = "t.closed"
name = "事件处置完成率低于预警线"
kind = "threshold"
severity = "橙"
indicators = ["gov_events_closed"]
below = 90
"""


def error_of(text: str) -> RuleError:
    with pytest.raises(RuleError) as info:
        parse_rules(text, "rules.toml")
    return info.value


def test_bundled_default_rules_load_and_cover_every_kind():
    rules = load_rules(default_rules_path())
    assert {r.kind for r in rules} == set(KINDS)
    assert len({r.id for r in rules}) == len(rules)
    assert all(r.severity in ("红", "橙", "黄") for r in rules)


def test_every_bundled_rule_has_an_english_name():
    rules = load_rules(default_rules_path())
    assert all(r.name and r.name_en and r.name_en.isascii() for r in rules)


def test_a_rule_may_have_an_english_name_and_a_file_without_any_still_loads():
    [rule] = parse_rules(GOOD)
    assert rule.name_en == ""                      # (rules files written before name_en)
    [rule] = parse_rules(GOOD + 'name_en = "Event resolution rate below the alert line"\n')
    assert rule.name_en == "Event resolution rate below the alert line"
    error = error_of(GOOD + "name_en = 3\n")
    assert error.field == "name_en" and "t.closed" in str(error)


def test_the_service_names_an_alerts_rule_in_english_by_its_id(tmp_path):
    from types import SimpleNamespace

    from cockpit.alerts.store import AlertService

    rules = tmp_path / "rules.toml"
    rules.write_text(GOOD + 'name_en = "Resolution below the line"\n', encoding="utf-8")
    service = AlertService(tmp_path / "wh", state_path=tmp_path / "ops.sqlite",
                           rules_path=rules, lazy=True)
    alert = SimpleNamespace(rule_id="t.closed", rule_name="事件处置完成率低于预警线")
    assert service.rule_name(alert, "en") == "Resolution below the line"
    assert service.rule_name(alert, "zh_CN") == "事件处置完成率低于预警线"
    gone = SimpleNamespace(rule_id="t.removed", rule_name="已删除的规则")
    assert service.rule_name(gone, "en") == "已删除的规则"     # as raised, not made up
    rules.write_text(GOOD, encoding="utf-8")                   # the file changes: read again
    assert service.rule_name(alert, "en") == "事件处置完成率低于预警线"


def test_a_user_rules_file_in_cockpit_home_replaces_the_bundled_one(tmp_path, monkeypatch):
    home = tmp_path / "home"
    home.mkdir()
    (home / "alert_rules.toml").write_text(GOOD, encoding="utf-8")
    monkeypatch.setenv("COCKPIT_HOME", str(home))
    assert [r.id for r in load_rules()] == ["t.closed"]


def test_english_severity_names_and_escalation_are_understood():
    rules = parse_rules(GOOD.replace('severity = "橙"', 'severity = "minor"')
                        + 'escalate = { critical = 80, "橙" = 85 }\n')
    assert rules[0].severity == "黄"
    assert rules[0].escalate == (("红", 80.0), ("橙", 85.0))


def test_a_wrong_value_names_file_line_rule_and_field():
    err = error_of(GOOD.replace("below = 90", 'below = "九十"'))
    assert str(err) == "rules.toml 第 8 行：规则 “t.closed” 的字段 below 应为数字，而不是 “九十”"
    assert (err.rule, err.field, err.line) == ("t.closed", "below", 8)


def test_a_misspelt_field_is_refused_not_ignored():
    err = error_of(GOOD.replace("below = 90", "belwo = 90"))
    assert "规则 “t.closed” 的字段 belwo 不是 threshold 规则的字段" in str(err)
    assert err.line == 8


@pytest.mark.parametrize("change, field, words", [
    ('kind = "threshold"', "kind", "应为 threshold / change"),
    ('severity = "橙"', "severity", "应为 critical / major / minor / 红 / 橙 / 黄 之一"),
    ('indicators = ["gov_events_closed"]', "indicators", "应为非空的文本列表"),
])
def test_bad_common_fields_are_named(change, field, words):
    key = change.split(" = ")[0]
    err = error_of(GOOD.replace(change, f"{key} = 3"))
    assert err.field == field and words in str(err) and "t.closed" in str(err)


def test_kind_specific_requirements_are_explained():
    err = error_of(GOOD.replace("below = 90", "below = 90\nabove = 99"))
    assert "需要且只能有 above、below、line 中的一个字段" in str(err)
    change = GOOD.replace('kind = "threshold"', 'kind = "change"').replace(
        "below = 90", 'compare = "qoq"\npoints = 5')
    err = error_of(change)
    assert err.field == "compare" and "应为 mom / yoy 之一，而不是 “qoq”" in str(err)
    err = error_of(GOOD.replace("below = 90", "below = 90\nescalate = { \"黄\" = 80 }"))
    assert err.field == "escalate" and "不高于规则本身的等级" in str(err)


def test_a_rule_without_an_id_is_named_by_its_position():
    err = error_of(GOOD + GOOD.replace('id = "t.closed"\n', ""))
    assert "第 2 条规则 的字段 id 缺失" in str(err) and err.line == 10


def test_duplicate_rule_ids_are_refused():
    err = error_of(GOOD + GOOD)
    assert "规则 “t.closed” 的字段 id 与第 1 条规则重复" in str(err) and err.line == 11


def test_toml_syntax_errors_report_line_and_column():
    err = error_of(GOOD.replace("below = 90", "below = = 90"))
    assert str(err).startswith("rules.toml 第 8 行：第 9 列不是合法的 TOML")


def test_rule_text_is_data_never_code(tmp_path):
    marker = tmp_path / "pwned"
    text = GOOD.replace("below = 90", f"below = \"__import__('pathlib').Path('{marker}').touch()\"")
    with pytest.raises(RuleError):
        parse_rules(text)
    assert not marker.exists()


def test_cli_reports_an_invalid_rules_file_in_one_line_with_exit_status_2(tmp_path, demo_db,
                                                                          cockpit_cmd):
    bad = tmp_path / "my_rules.toml"
    bad.write_text(GOOD.replace("below = 90", "below = -"), encoding="utf-8")
    out = cockpit_cmd("alerts", "evaluate", "--db", demo_db, "--rules", bad)
    assert out.returncode == 2
    assert out.stderr.strip().count("\n") == 0 and "Traceback" not in out.stderr
    assert "my_rules.toml 第 8 行" in out.stderr
    bad.write_text(GOOD.replace("below = 90", "below = 90\nlookback = 0"), encoding="utf-8")
    out = cockpit_cmd("alerts", "rules", "--rules", bad)
    assert out.returncode == 2
    assert "规则 “t.closed” 的字段 lookback 应不小于 1，而不是 0" in out.stderr
