"""Levels: the view a selection is shown in, paths, the words of each level, finding a region."""
from __future__ import annotations

from dataclasses import dataclass

import pytest

from cockpit.core.levels import (Hierarchy, RegionLookupError, child_noun, derived_note,
                                 whole_word)


@dataclass(frozen=True)
class _R:
    code: str
    name: str
    level: str
    parent: str | None
    kind: str | None = None
    name_en: str | None = None


CITY = [
    _R("330700", "金华市", "city", None, "市", "Jinhua"),
    _R("330723", "武义县", "county", "330700", "县"),
    _R("330723005", "桃溪镇", "township", "330723", "镇", "Taoxi"),
    _R("330723001", "熟溪街道", "township", "330723", "街道"),
    _R("330782", "义乌市", "county", "330700", "市"),
    _R("330782001", "稠城街道", "township", "330782", "街道"),
    _R("330782002", "桃溪镇", "township", "330782", "镇"),   # a name two counties share
]


@pytest.fixture
def city() -> Hierarchy:
    return Hierarchy(CITY, "330700")


def test_a_region_with_children_is_shown_as_its_children_and_a_township_among_its_siblings(city):
    assert city.view_of("330700") == "330700"
    assert city.children("330700") == ["330723", "330782"]
    assert city.view_of("330723") == "330723"          # a county: its townships
    assert city.view_of("330723005") == "330723"       # a township: its county's townships
    assert city.view_of("nowhere") == "330700"
    assert city.multi_level


def test_paths_go_from_the_root_down_and_the_way_down_is_found(city):
    assert city.path("330723005") == ["330700", "330723", "330723005"]
    assert city.path_text("330723005") == "金华市/武义县/桃溪镇"
    assert city.parent("330723") == "330700" and city.parent("330700") is None
    assert city.child_toward("330700", "330723005") == "330723"
    assert city.child_toward("330723", "330723005") == "330723005"
    assert city.child_toward("330782", "330723005") is None
    assert city.leaves_under("330700") == ("330723005", "330723001", "330782001", "330782002")
    assert city.is_under("330782002", "330782") and not city.is_under("330782002", "330723")


def test_a_one_county_warehouse_is_the_one_level_case():
    county = Hierarchy([r for r in CITY if r.code.startswith("330723")], "330723")
    assert not county.multi_level
    assert county.view_of("330723005") == "330723"
    assert county.path("330723005") == ["330723", "330723005"]


def test_a_region_is_found_by_code_name_or_path_and_a_shared_name_lists_its_places(city):
    assert city.resolve("330723005") == "330723005"
    assert city.resolve("熟溪街道") == "330723001"
    assert city.resolve("Taoxi") == "330723005"
    assert city.resolve("武义县/桃溪镇") == "330723005"
    assert city.resolve("金华市 › 义乌市 › 桃溪镇") == "330782002"
    assert city.resolve("全市") == "330700"
    with pytest.raises(RegionLookupError) as shared:
        city.resolve("桃溪镇")
    text = str(shared.value)
    assert shared.value.ambiguous and "\n" not in text
    assert "金华市/武义县/桃溪镇（330723005）" in text and "金华市/义乌市/桃溪镇（330782002）" in text
    with pytest.raises(RegionLookupError) as unknown:
        city.resolve("桃花镇")
    assert not unknown.value.ambiguous and "桃花镇" in str(unknown.value)


def test_the_words_follow_the_level():
    county, city_region = CITY[1], CITY[0]
    assert whole_word(county) == "全县" and whole_word(city_region) == "全市"
    assert whole_word(_R("330702", "婺城区", "county", "330700")) == "全区"
    assert whole_word(_R("330781", "兰溪市", "county", "330700")) == "全市"
    assert whole_word(_R("100000", "全国", "province", None, "全国")) == "全国"
    assert whole_word(county, "en") == "County"
    assert child_noun("county") == "县（市、区）" and child_noun("township") == "乡镇"
    assert child_noun("township", full=True) == "乡镇（街道）"
    assert derived_note(17, 18, "township") == "由乡镇汇总（17/18）"
    assert derived_note(9, 9, "county") == "由县（市、区）汇总（9/9）"
    assert derived_note(9, 9, "county", "en") == "Aggregated from counties (9/9)"
