"""County figures that agree with their townships: derived where the county's own row is absent
(by each indicator's rule, labelled as derived), replaced by a reported one, and a warning naming
both figures when a reported county figure and its townships disagree."""
from __future__ import annotations

from datetime import date

import numpy as np
import pytest

from cockpit.warehouse.demo import COUNTY_CODE, TOWNSHIPS, TOWNSHIP_CODES
from cockpit.warehouse.publish import import_files
from cockpit.warehouse.queries import Queries
from cockpit.warehouse.store import open_current

JANUARY = date(2026, 1, 1)
TODAY = date(2026, 2, 10)
# A sum, a plain mean and a population-weighted mean, each reported by township only.
INDUSTRY = [round(0.5 + 0.11 * k, 2) for k in range(18)]
FOOD = [round(96.0 + 0.2 * k, 1) for k in range(18)]
ONLINE = [round(93.0 + 0.3 * k, 1) for k in range(18)]


def _csv(path, rows):
    path.write_text("乡镇（街道）,指标,期间,数值\n" + "\n".join(
        f"{region},{indicator},{period},{value}" for region, indicator, period, value in rows),
        encoding="utf-8")
    return path


def _townships_only(tmp_path, skip: str | None = None):
    rows = []
    for k, t in enumerate(TOWNSHIPS):
        if t.name == skip:
            continue
        rows += [(t.name, "规上工业增加值", "2026-01", INDUSTRY[k]),
                 (t.name, "食品抽检合格率", "2026-01", FOOD[k]),
                 (t.name, "网办率", "2026-01", ONLINE[k])]
    return _csv(tmp_path / "乡镇2026年1月.csv", rows)


def _read(db):
    snap = open_current(db)
    return snap, Queries(snap)


def test_a_township_only_month_gives_the_county_a_derived_figure_by_each_rule(wh, tmp_path):
    result = import_files([_townships_only(tmp_path)], wh, today=TODAY)
    assert result.published, result.report.format()
    snap, q = _read(wh)
    try:
        kpis = q.kpis(COUNTY_CODE, ["eco_industry_va", "mkt_food_pass", "svc_online_rate"],
                      JANUARY)
        # The county card shows January, as the map does (before: December beside a January map).
        assert {k.period for k in kpis.values()} == {JANUARY}
        assert kpis["eco_industry_va"].value == pytest.approx(sum(INDUSTRY), abs=0.01)
        assert kpis["mkt_food_pass"].value == pytest.approx(np.mean(FOOD), abs=0.05)
        pop = np.array([t.population for t in TOWNSHIPS], float)
        assert kpis["svc_online_rate"].value == pytest.approx(
            float((np.array(ONLINE) * pop).sum() / pop.sum()), abs=0.05)
        assert q.derived(COUNTY_CODE, "eco_industry_va", JANUARY) == (18, 18)
        assert q.derived(COUNTY_CODE, "eco_industry_va", date(2025, 12, 1)) is None
        # Only what was derived is labelled; county-only indicators are never derived.
        county_only = {i.code for i in q.indicators if i.county_only}
        assert not county_only & {ind for ind, _ in q.provenance(COUNTY_CODE)}
        assert {ind for ind, _ in q.provenance(COUNTY_CODE)} == {
            "eco_industry_va", "mkt_food_pass", "svc_online_rate"}
        # Year-on-year comparisons are derived for the new county row like any other.
        assert kpis["eco_industry_va"].yoy_value is not None
    finally:
        snap.close()


def test_a_missing_township_is_counted_and_a_later_report_derives_again(wh, tmp_path):
    assert import_files([_townships_only(tmp_path, skip="三港乡")], wh, today=TODAY).published
    snap, q = _read(wh)
    try:
        assert q.derived(COUNTY_CODE, "eco_industry_va", JANUARY) == (17, 18)
        partial = q.kpis(COUNTY_CODE, ["eco_industry_va"], JANUARY)["eco_industry_va"].value
    finally:
        snap.close()
    late = _csv(tmp_path / "三港乡补报.csv", [("三港乡", "规上工业增加值", "2026-01", 0.9)])
    assert import_files([late], wh, today=TODAY).published
    snap, q = _read(wh)
    try:
        assert q.derived(COUNTY_CODE, "eco_industry_va", JANUARY) == (18, 18)
        whole = q.kpis(COUNTY_CODE, ["eco_industry_va"], JANUARY)["eco_industry_va"].value
        assert whole == pytest.approx(partial + 0.9, abs=0.01)
    finally:
        snap.close()


def test_a_reported_county_figure_replaces_the_derived_one_and_a_gap_is_warned(wh, tmp_path):
    assert import_files([_townships_only(tmp_path)], wh, today=TODAY).published
    county = _csv(tmp_path / "全县2026年1月.csv",
                  [("武义县", "规上工业增加值", "2026-01", 150), ("全县", "网办率", "2026-01", 97.2)])
    result = import_files([county], wh, today=TODAY)
    assert result.published
    warnings = [p for p in result.report.warnings if p.check == "level_disagreement"]
    assert len(warnings) == 2
    industry = next(p for p in warnings if "规上工业增加值" in p.message)
    # Both figures named, at the county's own row and value cell.
    assert "150" in industry.message and f"{sum(INDUSTRY):.2f}".rstrip("0") in industry.message
    assert industry.row == 2 and "数值" in industry.column and industry.file == county.name
    snap, q = _read(wh)
    try:
        assert q.derived(COUNTY_CODE, "eco_industry_va", JANUARY) is None
        assert q.kpis(COUNTY_CODE, ["eco_industry_va"], JANUARY)["eco_industry_va"].value == 150
        assert q.derived(COUNTY_CODE, "mkt_food_pass", JANUARY) == (18, 18)   # still derived
    finally:
        snap.close()


def test_township_figures_that_agree_with_the_county_within_rounding_raise_no_warning(
        wh, tmp_path):
    rows = [(t.name, "规上工业增加值", "2026-01", INDUSTRY[k]) for k, t in enumerate(TOWNSHIPS)]
    rows.append(("全县", "规上工业增加值", "2026-01", round(sum(INDUSTRY) * 1.004, 2)))
    result = import_files([_csv(tmp_path / "一致.csv", rows)], wh, today=TODAY)
    assert result.published
    assert not [p for p in result.report.problems if p.check == "level_disagreement"]


def test_a_township_change_against_the_demos_county_row_names_the_township_row(wh, tmp_path):
    code = TOWNSHIP_CODES["白洋街道"]
    rows = [(code, "规上工业增加值", "2025-06", 40)]
    result = import_files([_csv(tmp_path / "白洋更正.csv", rows)], wh, today=TODAY)
    found = [p for p in result.report.warnings if p.check == "level_disagreement"]
    assert len(found) == 1 and found[0].row == 2 and "乡镇" in found[0].column
    assert "武义县" in found[0].message and "18 个乡镇合计" in found[0].message
