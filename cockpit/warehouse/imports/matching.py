"""Matching what a file writes to the warehouse's codes: township names in their variants (柳城,
柳城畲族镇, 街道办事处, a 12-digit code), indicator names and codes, units; never a guess.
"""
from __future__ import annotations

import difflib
import re
from dataclasses import dataclass
from typing import Iterable

from .text import cell_text, normalise

_QUOTES = re.compile(r"[\"'“”‘’「」『』《》〈〉、·•．]")


_UNIT_ALIASES = {"百分比": "%", "百分点": "%", "ug/m3": "μg/m3", "微克/立方米": "μg/m3",
                 "mg/m3": "mg/m3", "人次数": "人次"}


def normalise_unit(text) -> str:
    u = normalise(text)
    u = u.replace("µ", "μ")  # micro sign → Greek mu
    u = u.strip("()（）[]【】")
    u = re.sub(r"^(计量)?单位[:：]?", "", u)
    return _UNIT_ALIASES.get(u.lower(), _UNIT_ALIASES.get(u, u))


PAREN_TAIL = re.compile(r"^(.*?)[(（]([^()（）]*)[)）]$")


# --- matching regions ---------------------------------------------------------------------------
@dataclass(frozen=True)
class Match:
    """How a name was matched: code set when exactly one candidate fits; never a guess."""
    code: str | None
    status: str                      # ok / unknown / ambiguous
    candidates: tuple[str, ...] = ()  # names, when ambiguous
    suggestion: str | None = None    # a close name, offered in the message only


_ETHNIC = re.compile(r"(畲族|回族|苗族|瑶族|壮族|土家族|满族|蒙古族|侗族|彝族|藏族|维吾尔族|"
                     r"布依族|白族|哈尼族|傣族|黎族|朝鲜族|各族|民族)(?=(镇|乡|苏木)$)")
_TOWNSHIP_SUFFIX = re.compile(r"(街道办事处|街道|办事处|镇人民政府|乡人民政府|镇|乡|苏木)$")
COUNTY_ALIASES = ("全县", "合计", "总计", "全县合计", "全县总计", "县本级合计")


def _region_key(name: str) -> str:
    """The normal form of a township name: full-width folded, no spaces, 街道办事处 → 街道, no ethnic part."""
    n = normalise(name)
    n = re.sub(r"(街道办事处|办事处)$", "街道", n)
    n = re.sub(r"(镇|乡)人民政府$", r"\1", n)
    return _ETHNIC.sub("", n)


def _region_base(key: str) -> str:
    return _TOWNSHIP_SUFFIX.sub("", key)


class RegionMatcher:
    """Matches region text to codes: by code, by normalised name, or by the name without its suffix.

    柳城镇, 柳城畲族镇, ＂柳城畲族镇 ＂ and 330723004 all match 柳城畲族镇; 柳城 (no suffix) matches too as
    long as only one region is called 柳城…; 柳城乡 does not (a different suffix is a different
    place as far as the matcher may tell) and is reported with 柳城畲族镇 as a suggestion.
    """

    def __init__(self, regions: Iterable, county_code: str | None = None):
        self.regions = list(regions)
        self._by_code: dict[str, str] = {}
        self._by_key: dict[str, set[str]] = {}
        self._by_base: dict[str, set[str]] = {}
        self._names = {r.code: r.name for r in self.regions}
        self._prefixes: list[str] = []
        for r in self.regions:
            self._by_code[normalise(r.code).upper()] = r.code
            key = _region_key(r.name)
            self._by_key.setdefault(key, set()).add(r.code)
            self._by_base.setdefault(_region_base(key), set()).add(r.code)
            if r.level in ("county", "city", "province"):
                self._prefixes.append(normalise(r.name))
        county = county_code or next((r.code for r in self.regions if r.level == "county"), None)
        if county is not None:
            for alias in COUNTY_ALIASES:
                self._by_key.setdefault(alias, set()).add(county)
        self._prefixes.sort(key=len, reverse=True)

    def name(self, code: str) -> str:
        return self._names.get(code, code)

    def resolve(self, text) -> Match:
        raw = normalise(cell_text(text))
        if not raw:
            return Match(None, "unknown")
        code = self._by_code.get(raw.upper())
        if code is None and re.fullmatch(r"\d{12}", raw) and raw.endswith("000"):
            code = self._by_code.get(raw[:9])  # 12-digit statistical code of a township
        if code is not None:
            return Match(code, "ok")
        key = _region_key(raw)
        for prefix in self._prefixes:  # 武义县熟溪街道 → 熟溪街道
            if key.startswith(prefix) and len(key) > len(prefix):
                key = _region_key(key[len(prefix):])
                break
        found = self._by_key.get(key)
        if not found and _region_base(key) == key:  # written without 镇/乡/街道
            found = self._by_base.get(key)
        if found and len(found) == 1:
            return Match(next(iter(found)), "ok")
        if found:
            return Match(None, "ambiguous", tuple(sorted(self.name(c) for c in found)))
        return Match(None, "unknown", suggestion=self._suggest(key))

    def _suggest(self, key: str) -> str | None:
        names = {_region_key(r.name): r.name for r in self.regions}
        bases = {_region_base(k): n for k, n in names.items()}
        close = difflib.get_close_matches(key, list(names), n=1, cutoff=0.6)
        if close:
            return names[close[0]]
        close = difflib.get_close_matches(_region_base(key), list(bases), n=1, cutoff=0.6)
        return bases[close[0]] if close else None


# --- matching indicators ------------------------------------------------------------------------
def _indicator_key(name: str) -> str:
    return _QUOTES.sub("", normalise(name)).lower()


class IndicatorMatcher:
    """Matches indicator text to codes: by code, or by name (quotes, spaces and width ignored).

    A unit in trailing parentheses is split off: 规上工业增加值（亿元） is 规上工业增加值 in 亿元.
    """

    def __init__(self, indicators: Iterable):
        self.indicators = list(indicators)
        self.by_code = {i.code: i for i in self.indicators}
        self._codes = {i.code.lower(): i.code for i in self.indicators}
        self._by_key: dict[str, set[str]] = {}
        for i in self.indicators:
            self._by_key.setdefault(_indicator_key(i.name), set()).add(i.code)

    def resolve(self, text) -> tuple[Match, str | None]:
        """(match, unit written with the name or None)."""
        raw = normalise(cell_text(text))
        if not raw:
            return Match(None, "unknown"), None
        code = self._codes.get(raw.lower())
        if code is not None:
            return Match(code, "ok"), None
        unit = None
        key = _indicator_key(raw)
        found = self._by_key.get(key)
        if not found and (m := PAREN_TAIL.match(raw)):
            found = self._by_key.get(_indicator_key(m.group(1)))
            if found:
                unit = normalise_unit(m.group(2))
        if found and len(found) == 1:
            return Match(next(iter(found)), "ok"), unit
        if found:
            return Match(None, "ambiguous", tuple(sorted(found))), unit
        close = difflib.get_close_matches(key, list(self._by_key), n=1, cutoff=0.6)
        suggestion = None
        if close:
            suggestion = self.by_code[sorted(self._by_key[close[0]])[0]].name
        return Match(None, "unknown", suggestion=suggestion), None

    def find_in_text(self, text) -> Match:
        """The one indicator named in a title or a sheet name (the longest name found in it)."""
        exact, _ = self.resolve(text)
        if exact.status != "unknown":
            return exact
        key = _indicator_key(text)
        if not key:
            return Match(None, "unknown")
        hits = [(k, codes) for k, codes in self._by_key.items() if k and k in key]
        if not hits:
            return exact
        hits.sort(key=lambda kc: len(kc[0]), reverse=True)
        longest, codes = hits[0]
        others = {c for k, cs in hits[1:] if k not in longest for c in cs}
        if len(codes) == 1 and not others:
            return Match(next(iter(codes)), "ok")
        names = sorted({self.by_code[c].name for c in codes | others})
        return Match(None, "ambiguous", tuple(names))
