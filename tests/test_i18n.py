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
