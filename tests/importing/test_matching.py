"""Names, periods and numbers as departments write them: matched when unambiguous, reported when not."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date

import pytest

from cockpit.core.catalogue import DEMO_CATALOGUE
from cockpit.warehouse.imports.matching import IndicatorMatcher, RegionMatcher
from cockpit.warehouse.imports.parsing import parse_number, parse_period


@dataclass(frozen=True)
class R:
    code: str
    name: str
    level: str = "township"


WUYI = [R("330723", "武义县", "county"), R("330723001", "熟溪街道"), R("330723004", "柳城畲族镇"),
        R("330723005", "桃溪镇"), R("330723012", "俞源乡")]


@pytest.mark.parametrize("text, code", [
    ("柳城畲族镇", "330723004"),
    ("柳城镇", "330723004"),            # the ethnic part dropped
    (" 柳城畲族镇　", "330723004"),      # spaces, ideographic space
    ("柳城", "330723004"),              # no suffix at all
    ("熟溪街道办事处", "330723001"),
    ("熟溪办事处", "330723001"),
    ("武义县熟溪街道", "330723001"),     # county prefix
    ("３３０７２３００５", "330723005"),   # full-width digits
    ("330723005000", "330723005"),      # 12-digit statistical code
    ("全县", "330723"),
    ("合计", "330723"),
    ("武义县", "330723"),
])
def test_region_variants_match_their_township(text, code):
    assert RegionMatcher(WUYI).resolve(text).code == code


def test_a_different_suffix_is_not_guessed_but_suggested():
    m = RegionMatcher(WUYI).resolve("柳城乡")
    assert (m.code, m.status, m.suggestion) == (None, "unknown", "柳城畲族镇")


def test_a_name_two_townships_could_carry_is_ambiguous():
    regions = WUYI + [R("330723099", "桃溪乡")]
    m = RegionMatcher(regions).resolve("桃溪")
    assert (m.code, m.status, m.candidates) == (None, "ambiguous", ("桃溪乡", "桃溪镇"))
    assert RegionMatcher(regions).resolve("桃溪镇").code == "330723005"


def test_indicator_by_code_name_quotes_and_unit_in_parentheses():
    matcher = IndicatorMatcher(DEMO_CATALOGUE)
    assert matcher.resolve("ENV_PM25")[0].code == "env_pm25"
    assert matcher.resolve("双随机、一公开覆盖率")[0].code == "mkt_double_random"
    assert matcher.resolve("“双随机、一公开”覆盖率")[0].code == "mkt_double_random"
    match, unit = matcher.resolve("规上工业增加值（亿元）")
    assert (match.code, unit) == ("eco_industry_va", "亿元")
    assert matcher.resolve("工业总产值")[0].status == "unknown"


def test_indicator_named_in_a_title_is_the_longest_name_found():
    matcher = IndicatorMatcher(DEMO_CATALOGUE)
    assert matcher.find_in_text("2025年各乡镇（街道）网上办办件量统计表").code == "svc_online_cases"
    assert matcher.find_in_text("2025年武义县各乡镇网办率").code == "svc_online_rate"
    both = matcher.find_in_text("PM2.5平均浓度与信访量")
    assert both.status == "ambiguous" and set(both.candidates) == {"PM2.5平均浓度", "信访量"}


@pytest.mark.parametrize("text, period, grain", [
    ("2025-06", date(2025, 6, 1), "month"),
    ("2025/6", date(2025, 6, 1), "month"),
    ("2025.06", date(2025, 6, 1), "month"),
    ("202506", date(2025, 6, 1), "month"),
    ("2025-06-30", date(2025, 6, 1), "month"),
    ("2025-06-01 00:00:00", date(2025, 6, 1), "month"),
    ("2025年6月", date(2025, 6, 1), "month"),
    ("2025年十二月", date(2025, 12, 1), "month"),
    ("２０２５年６月", date(2025, 6, 1), "month"),
    ("2025Q2", date(2025, 6, 1), "quarter"),
    ("2025-q3", date(2025, 9, 1), "quarter"),
    ("2025年二季度", date(2025, 6, 1), "quarter"),
    ("2025年第4季度", date(2025, 12, 1), "quarter"),
    ("2025年", date(2025, 12, 1), "year"),
    ("2025", date(2025, 12, 1), "year"),
    ("2025年度", date(2025, 12, 1), "year"),
])
def test_period_spellings(text, period, grain):
    assert parse_period(text) == (parse_period(text).__class__(period, grain))


@pytest.mark.parametrize("text", ["2025-13", "2025年上半年", "六月", "25-06", "", "2025-1-1-1"])
def test_periods_that_cannot_be_read(text):
    assert parse_period(text) is None


@pytest.mark.parametrize("text, expected", [
    ("12.5", (12.5, "ok")), ("1,234.5", (1234.5, "ok")), ("９５.５", (95.5, "ok")),
    ("95.5%", (95.5, "percent")), ("—", (None, "placeholder")), ("/", (None, "placeholder")),
    ("暂无", (None, "placeholder")), ("", (None, "placeholder")), ("N/A", (None, "placeholder")),
    ("约5", (None, "not_number")), ("1,2", (None, "not_number")), ("nan", (None, "placeholder")),
])
def test_number_spellings(text, expected):
    assert parse_number(text) == expected
