"""The levels of a warehouse (city → county → township): which region a view shows, the path to a
region, the words each level goes by, and finding a region from what a user typed.

The selection holds one region; everything else follows from it, so drilling up is drilling down
in reverse. A region with children is shown as its children (the city as its counties, a county as
its townships); a region without them (a township) is shown among its siblings, highlighted. A
one-county warehouse is the one-level case: the county is the root, its townships its children.
"""
from __future__ import annotations

import difflib
from dataclasses import dataclass
from typing import Iterable, Protocol

# What a path may be written with: 金华市/武义县/桃溪镇, 金华市›武义县›桃溪镇, 金华市 > 武义县 > 桃溪镇.
PATH_SEPARATORS = ("/", "／", "›", ">", "＞", "\\")
# What the whole of the root is called when typed instead of its name.
ROOT_ALIASES = ("全县", "全市", "全区", "全省", "全国", "合计", "总计")


class Place(Protocol):
    code: str
    name: str
    name_en: str | None
    level: str
    kind: str | None
    parent: str | None


class RegionLookupError(LookupError):
    """Text that names no region, or several: `str()` is the one line for the user."""

    def __init__(self, message: str, candidates: tuple[str, ...] = (), ambiguous: bool = False):
        super().__init__(message)
        self.candidates = candidates
        self.ambiguous = ambiguous


@dataclass(frozen=True)
class _Words:
    whole: str        # 全县
    whole_en: str     # County


def whole_word(place: Place | None, lang: str = "zh_CN") -> str:
    """What the whole of a region is called beside its figures: 全县, 全市, 全区, 全省, 全国."""
    words = _whole(place)
    return words.whole_en if lang == "en" else words.whole


def _whole(place: Place | None) -> _Words:
    if place is None:
        return _Words("全县", "County")
    name, level, kind = place.name or "", place.level, place.kind or ""
    if kind == "全国" or name == "全国":
        return _Words("全国", "Nation")
    for suffix, zh, en in (("自治区", "全区", "Region"), ("特别行政区", "全区", "Region"),
                           ("自治州", "全州", "Prefecture"), ("地区", "全地区", "Prefecture"),
                           ("盟", "全盟", "League"), ("旗", "全旗", "Banner"),
                           ("区", "全区", "District"), ("县", "全县", "County"),
                           ("省", "全省", "Province"), ("市", "全市", "City")):
        if name.endswith(suffix):
            return _Words(zh, en)
    return {"province": _Words("全省", "Province"), "city": _Words("全市", "City"),
            "township": _Words("全镇", "Township")}.get(level, _Words("全县", "County"))


# The children of a region, by their level: (short noun, full noun, English).
_CHILD_NOUNS = {
    "township": ("乡镇", "乡镇（街道）", "Townships"),
    "county": ("县（市、区）", "县（市、区）", "Counties"),
    "city": ("市", "市（州、盟）", "Cities"),
    "province": ("省", "省（区、市）", "Provinces"),
}


def child_noun(level: str | None, lang: str = "zh_CN", full: bool = False) -> str:
    """What the regions of a level are called together: 乡镇 / 乡镇（街道）, 县（市、区）…"""
    short, long, en = _CHILD_NOUNS.get(level or "township", _CHILD_NOUNS["township"])
    if lang == "en":
        return en
    return long if full else short


def derived_label(child_level: str | None, lang: str = "zh_CN") -> str:
    """What a figure derived from the level below is labelled: 由乡镇汇总, 由县（市、区）汇总."""
    if lang == "en":
        return f"Aggregated from {child_noun(child_level, 'en').lower()}"
    return f"由{child_noun(child_level)}汇总"


def derived_note(children: int, of: int, child_level: str | None, lang: str = "zh_CN") -> str:
    """A derived figure's label with how many children reported: 由乡镇汇总（17/18）."""
    if lang == "en":
        return f"{derived_label(child_level, lang)} ({children}/{of})"
    return f"{derived_label(child_level, lang)}（{children}/{of}）"


def _key(text: str) -> str:
    return "".join(str(text).split()).casefold()


class Hierarchy:
    """Parent and child links of every region under a root, in storage order."""

    def __init__(self, regions: Iterable[Place], root: str):
        self.root = root
        self.by_code: dict[str, Place] = {}
        self._children: dict[str, list[str]] = {}
        for r in regions:
            self.by_code[r.code] = r
        for code, r in self.by_code.items():
            if r.parent is not None and r.parent in self.by_code and code != root:
                self._children.setdefault(r.parent, []).append(code)
        self._depth: dict[str, int] = {}
        self._leaves: dict[str, tuple[str, ...]] = {}
        self._under: set[str] = set()
        stack = [root] if root in self.by_code else []
        while stack:
            here = stack.pop()
            self._under.add(here)
            stack.extend(self._children.get(here, ()))

    # -- links -----------------------------------------------------------------------------------
    def __contains__(self, code: str) -> bool:
        """True for the root and every region below it."""
        return code in self._under

    def children(self, code: str) -> list[str]:
        return list(self._children.get(code, ()))

    def has_children(self, code: str) -> bool:
        return bool(self._children.get(code))

    def parent(self, code: str) -> str | None:
        """The region above (None for the root and for regions outside it)."""
        if code == self.root:
            return None
        place = self.by_code.get(code)
        return place.parent if place is not None and place.parent in self.by_code else None

    def path(self, code: str) -> list[str]:
        """The root … the region itself; [code] alone for a region outside the root."""
        chain, seen = [code], 0
        while chain[-1] != self.root and seen < 16:
            up = self.parent(chain[-1])
            if up is None:
                return [code]
            chain.append(up)
            seen += 1
        return chain[::-1]

    def depth(self, code: str) -> int:
        """0 for the root, 1 for its children …; -1 outside the root."""
        if code not in self._depth:
            path = self.path(code)
            self._depth[code] = len(path) - 1 if path[0] == self.root else -1
        return self._depth[code]

    @property
    def multi_level(self) -> bool:
        """True when the root's children have children of their own (city → county → township)."""
        return any(self.has_children(c) for c in self.children(self.root))

    def view_of(self, code: str) -> str:
        """The region whose children show a selection: itself when it has children, else its
        parent (a township is shown among its county's townships); the root when unknown."""
        if code not in self.by_code:
            return self.root
        if self.has_children(code) or code == self.root:
            return code
        return self.parent(code) or self.root

    def child_toward(self, view: str, code: str) -> str | None:
        """The child of `view` on the way down to `code` (itself if a child), else None."""
        path = self.path(code)
        if view in path:
            k = path.index(view)
            return path[k + 1] if k + 1 < len(path) else None
        return None

    def leaves_under(self, code: str) -> tuple[str, ...]:
        """Every region without children at or below `code`, in storage order."""
        if code not in self._leaves:
            out, stack = [], [code]
            while stack:
                here = stack.pop()
                kids = self._children.get(here)
                if kids:
                    stack.extend(reversed(kids))
                else:
                    out.append(here)
            self._leaves[code] = tuple(out)
        return self._leaves[code]

    def is_under(self, code: str, ancestor: str) -> bool:
        """True when `code` is `ancestor` or lies below it."""
        return ancestor in self.path(code)

    # -- words -----------------------------------------------------------------------------------
    def name(self, code: str, lang: str = "zh_CN") -> str:
        place = self.by_code.get(code)
        if place is None:
            return code
        return (place.name_en or place.name) if lang == "en" else place.name

    def path_text(self, code: str, sep: str = "/") -> str:
        return sep.join(self.by_code[c].name for c in self.path(code) if c in self.by_code)

    def whole_word(self, code: str, lang: str = "zh_CN") -> str:
        return whole_word(self.by_code.get(code), lang)

    def children_level(self, code: str) -> str | None:
        kids = self._children.get(code)
        return self.by_code[kids[0]].level if kids else None

    def children_noun(self, code: str, lang: str = "zh_CN", full: bool = False) -> str:
        return child_noun(self.children_level(code) or "township", lang, full)

    # -- finding a region ------------------------------------------------------------------------
    def resolve(self, text: str) -> str:
        """The code of the region a user named: a code, a name, or a path (金华市/武义县/桃溪镇,
        from any level down). Raises RegionLookupError, whose text lists the candidates."""
        raw = str(text or "").strip()
        if not raw:
            raise RegionLookupError("没有给出地区名称")
        if raw in self.by_code and raw in self:
            return raw
        if raw in ROOT_ALIASES:
            return self.root
        parts = [raw]
        for sep in PATH_SEPARATORS:
            if sep in raw:
                parts = [p.strip() for p in raw.replace("›", sep).split(sep) if p.strip()]
                break
        wanted = [_key(p) for p in parts]
        found = []
        for code in self.by_code:
            if code not in self:
                continue
            names = [self._names(c) for c in self.path(code)]
            if len(names) >= len(wanted) and all(
                    w in n for w, n in zip(wanted, names[len(names) - len(wanted):])):
                found.append(code)
        if len(found) == 1:
            return found[0]
        if found:
            shown = tuple(f"{self.path_text(c)}（{c}）" for c in found[:8])
            more = f" 等 {len(found)} 处" if len(found) > 8 else ""
            raise RegionLookupError(
                f"“{raw}”不止一处：{'；'.join(shown)}{more}。请写出路径（如 {self.path_text(found[0])}）"
                f"或区划代码", shown, ambiguous=True)
        names = sorted({self.by_code[c].name for c in self.by_code if c in self}, key=len)
        close = difflib.get_close_matches(parts[-1], names, n=3, cutoff=0.5)
        if len(self.by_code) <= 40:
            hint = "；可选：" + "、".join(self.by_code[c].name for c in self.leaves_under(self.root))
        elif close:
            hint = "；是否为：" + "、".join(close)
        else:
            hint = ""
        raise RegionLookupError(f"没有名为“{raw}”的地区{hint}", tuple(close))

    def _names(self, code: str) -> set[str]:
        place = self.by_code[code]
        return {_key(n) for n in (place.name, place.name_en, code) if n}
