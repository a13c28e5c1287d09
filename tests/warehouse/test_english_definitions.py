"""Indicators carry an English definition (definition_en) from the catalogue through the warehouse
and imports; a warehouse built before the column existed still opens, shows the Chinese
definition, and gains the column with its next import."""
from __future__ import annotations

import re

from cockpit.core.catalogue import DEMO_CATALOGUE
from cockpit.warehouse.publish import import_files
from cockpit.warehouse.queries import Queries
from cockpit.warehouse.store import open_current

CJK = re.compile(r"[\u3400-\u9fff]")


def _queries(db):
    snap = open_current(db)
    return snap, Queries(snap)


def test_every_demo_indicator_has_an_english_definition():
    assert all(i.definition_en and not CJK.search(i.definition_en) for i in DEMO_CATALOGUE)


def test_the_demo_warehouse_reads_back_both_definitions_and_english_departments(demo_db):
    snap, q = _queries(demo_db)
    try:
        pm25 = q.indicator_by_code["env_pm25"]
        assert pm25.definition_in("zh_CN") == pm25.definition and CJK.search(pm25.definition)
        assert pm25.definition_in("en").startswith("Arithmetic mean of the month's daily mean")
        # the city above the county is not one of its regions: its English name is in meta
        assert q.department(pm25.department, "en") == \
            "Jinhua Ecology and Environment Bureau, Wuyi Branch"
        assert q.department(pm25.department, "zh_CN") == "金华市生态环境局武义分局"
    finally:
        snap.close()


def test_a_warehouse_from_before_english_definitions_opens_and_says_them_in_chinese(
        old_warehouse):
    snap, q = _queries(old_warehouse)
    try:
        pm25 = q.indicator_by_code["env_pm25"]
        assert pm25.definition_en == "" and pm25.definition_in("en") == pm25.definition
        # without the city's English name its branch's name stays as written
        assert q.department(pm25.department, "en") == "金华市生态环境局武义分局"
        assert q.department("县统计局", "en") == "County Statistics Bureau"
    finally:
        snap.close()


def test_its_next_import_adds_the_column_and_a_catalogue_sets_english_definitions(
        old_warehouse, english_catalogue):
    catalogue, english = english_catalogue
    result = import_files([catalogue], old_warehouse)
    assert result.published, result.report.problems
    snap, q = _queries(old_warehouse)
    try:
        assert q.indicator_by_code["eco_industry_va"].definition_in("en") == english
        assert q.indicator_by_code["env_pm25"].definition_en == ""   # not in the file
        assert len(q.indicators) == 61
    finally:
        snap.close()
