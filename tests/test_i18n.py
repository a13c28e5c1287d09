"""One translation mechanism: every table of user-facing strings has an English line for each
Chinese one, and the shared words (units, severities, statuses) translate."""
from __future__ import annotations

import importlib
import pkgutil

import cockpit
from cockpit.core import i18n
from cockpit.core.catalogue import DEMO_CATALOGUE


def _tables():
    for info in pkgutil.walk_packages(cockpit.__path__, "cockpit."):
        if info.name.endswith(("bench", "__main__")):
            continue
        module = importlib.import_module(info.name)
        for name in ("_TEXT", "TEXT"):
            table = getattr(module, name, None)
            if isinstance(table, dict) and "zh_CN" in table:
                yield f"{info.name}.{name}", table


def test_every_string_table_is_complete_in_english():
    tables = dict(_tables())
    assert len(tables) >= 15   # the panels, pages, dialogs, wall, briefing…
    missing = {name: i18n.missing_english(table) for name, table in tables.items()}
    assert not {k: v for k, v in missing.items() if v}


def test_every_unit_of_the_catalogue_has_an_english_name():
    units = {i.unit for i in DEMO_CATALOGUE}
    assert not [u for u in units if u not in i18n.UNITS_EN]
    assert i18n.unit("亿元", "en") == "100M yuan" and i18n.unit("亿元", "zh_CN") == "亿元"


def test_shared_words_translate_and_fall_back_to_chinese():
    assert [i18n.severity(s, "en") for s in "红橙黄"] == ["Red", "Orange", "Yellow"]
    assert i18n.alert_status("处置中", "en") == "In progress"
    assert i18n.event_category("矛盾纠纷", "en") == "Dispute"
    assert i18n.event_category("某个新类别", "en") == "某个新类别"   # data we have no word for
    assert i18n.pick({"zh_CN": {"a": "甲", "b": "乙"}, "en": {"a": "A"}}, "en") == \
        {"a": "A", "b": "乙"}


# --- source departments ------------------------------------------------------------------------
PLACES = i18n.place_names([("武义县", "Wuyi County"), ("金华市", "Jinhua"), ("桃溪镇", "Taoxi"),
                           ("龙游县", None)])


def test_place_names_know_a_county_or_city_also_without_its_level():
    assert PLACES["武义县"] == "Wuyi County" and PLACES["武义"] == "Wuyi"
    assert PLACES["金华市"] == PLACES["金华"] == "Jinhua"
    assert PLACES["桃溪镇"] == "Taoxi" and "龙游县" not in PLACES   # no English name: unknown


def test_every_department_of_the_demo_catalogue_has_an_english_name():
    departments = {i.department for i in DEMO_CATALOGUE}
    english = {d: i18n.department(d, "en", PLACES) for d in departments}
    assert not [d for d, en in english.items() if en == d]
    assert english["县统计局"] == "County Statistics Bureau"
    assert english["县市场监督管理局"] == "County Administration for Market Regulation"
    assert english["县发展和改革局"] == "County Development and Reform Bureau"
    assert english["县社会治理中心"] == "County Social Governance Centre"
    assert english["县政府办公室"] == "County Government Office"


def test_a_department_named_after_a_place_takes_the_places_english_name():
    assert i18n.department("金华市生态环境局武义分局", "en", PLACES) == \
        "Jinhua Ecology and Environment Bureau, Wuyi Branch"
    assert i18n.department("国网武义县供电公司", "en", PLACES) == \
        "State Grid Wuyi County Power Supply Company"
    assert i18n.department("武义县统计局", "en", PLACES) == "Wuyi County Statistics Bureau"
    assert i18n.department("市统计局", "en") == "Municipal Statistics Bureau"
    assert i18n.department("省应急管理局", "en") == "Provincial Emergency Management Bureau"
    # another county's catalogue (catalogue_for): its branch of the city's bureau
    longyou = i18n.place_names([("龙游县", "Longyou County")])
    assert i18n.department("龙游生态环境分局", "en", longyou) == \
        "Longyou Ecology and Environment Branch"


def test_a_department_not_made_of_known_parts_stays_as_written():
    for name in ("县某某办", "某县统计局", "龙游生态环境分局", "国网某县供电公司",
                 "金华市生态环境局某分局", "统计", ""):
        assert i18n.department(name, "en", PLACES) == name
    assert i18n.department(None, "en") == ""


def test_departments_stay_chinese_in_chinese():
    assert i18n.department("县统计局", "zh_CN", PLACES) == "县统计局"
    assert i18n.department("国网武义县供电公司", None, PLACES) == "国网武义县供电公司"
