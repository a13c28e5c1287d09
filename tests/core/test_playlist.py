"""The wall's playlist (checked like the alert rules) and its rotation: order, dwell, pause on
touch, resume, red-alert interrupts with a cooldown — all on a made-up clock."""
from __future__ import annotations

import pytest

from cockpit.core.catalogue import DEMO_CATALOGUE
from cockpit.core.playlist import (Carousel, Catalogue, PlaylistError, default_playlist_path,
                                   load_playlist, parse_playlist)

TOWNS = {"桃溪镇": "T1", "泉溪镇": "T2", "三港乡": "T3", "武义县": "C"}
CAT = Catalogue(county="C", regions=TOWNS, township_codes=("T1", "T2", "T3"),
                indicators={i.code: i for i in DEMO_CATALOGUE})
PUBLIC = Catalogue(county="C", regions=TOWNS, township_codes=("T1", "T2", "T3"),
                   indicators={i.code: i for i in DEMO_CATALOGUE}, public=True)

SIMPLE = """
[playlist]
dwell = 10
resume_after = 30
alert_focus = 20
alert_cooldown = 100

[[page]]
kind = "domain"
domain = "经济运行"

[[page]]
kind = "townships"
order = "list"
dwell = 5

[[page]]
kind = "alerts"
dwell = 15
"""


def _carousel(text=SIMPLE, order=("T1", "T2", "T3"), now=0.0):
    playlist = parse_playlist(text, CAT, "wall.toml")
    return Carousel(playlist, lambda page: list(order), now)


def test_the_bundled_playlist_is_valid_for_the_demo_catalogue():
    playlist = load_playlist(default_playlist_path(), CAT)
    kinds = [p.kind for p in playlist.pages]
    assert {"domain", "townships", "alerts", "detail", "plan"} <= set(kinds)
    assert all(p.dwell >= 2 for p in playlist.pages)


def test_pages_turn_in_order_after_their_dwell_and_start_again():
    c = _carousel()
    assert (c.current.kind, c.current.domain) == ("domain", "economy")
    assert c.tick(9.9) is None
    seen = []
    t = 10.0
    while len(seen) < 6:
        step = c.tick(t)
        if step is not None:
            seen.append((step.kind, step.region, step.dwell))
        t += 0.5
    assert seen == [("townships", "T1", 5), ("townships", "T2", 5), ("townships", "T3", 5),
                    ("alerts", None, 15), ("domain", None, 10), ("townships", "T1", 5)]


def test_the_progress_line_knows_what_comes_next():
    c = _carousel()
    assert c.upcoming().kind == "townships"
    assert c.progress(5.0) == pytest.approx(0.5)
    assert c.remaining(5.0) == pytest.approx(5.0)
    c.tick(10.0)
    assert c.current.position == (1, 3) and c.upcoming().region == "T2"


def test_a_touch_pauses_the_rotation_and_idle_time_resumes_it():
    c = _carousel()
    c.touch(5.0)
    assert c.paused
    assert c.tick(20.0) is None                 # dwell long past, but the operator is here
    c.touch(25.0)                               # still here
    assert c.tick(54.0) is None
    step = c.tick(55.0)                         # 30 s after the last touch
    assert step is not None and not c.paused and step.kind == "townships"


def test_a_red_alert_interrupts_then_the_rotation_goes_on_where_it_was():
    c = _carousel()
    c.tick(10.0)                                 # on T1 of the townships page
    assert c.alert("a1", "T3", "mkt_complaints", 12.0)
    assert c.in_alert_focus and c.current.region == "T3" and c.current.alert_id == "a1"
    assert c.current.indicator == "mkt_complaints"
    assert c.tick(31.0) is None                  # focus lasts 20 s
    back = c.tick(32.0)
    assert back.region == "T1" and not c.in_alert_focus


def test_a_storm_of_alerts_turns_the_wall_once_per_cooldown():
    c = _carousel()
    assert c.alert("a1", "T1", None, 1.0)
    shown = [c.current.alert_id]
    for k, t in enumerate(range(2, 60)):          # a new red alert every second
        taken = c.alert(f"b{k}", "T2", None, float(t))
        assert not taken
        step = c.tick(float(t))
        if step is not None and step.alert_id:
            shown.append(step.alert_id)
    assert shown == ["a1"]
    # after the cooldown (20 s focus + 100 s), the newest waiting alert gets its turn
    step = None
    t = 60.0
    while t < 200 and not (step is not None and step.alert_id):
        step = c.tick(t)
        t += 1.0
    assert step.alert_id == "b57" and 120.0 <= t <= 122.0


def test_an_alert_closed_meanwhile_is_not_shown_after_the_cooldown():
    c = _carousel()
    c.alert("a1", "T1", None, 1.0)
    c.alert("a2", "T2", None, 2.0)
    c.forget_alert("a2")
    assert all(not (c.tick(float(t)) or c.current).alert_id == "a2" for t in range(3, 400))


def test_an_alert_waits_while_the_operator_works():
    c = _carousel()
    c.touch(1.0)
    assert not c.alert("a1", "T2", None, 2.0)
    assert c.current.alert_id is None
    step = c.tick(31.5)                            # the pause ends: the alert goes first
    assert step.alert_id == "a1"


def test_an_empty_townships_page_shows_the_county_instead():
    c = _carousel(order=())
    step = c.tick(10.0)
    assert step.kind == "domain" and step.region is None


@pytest.mark.parametrize("text, line, field, words", [
    ('[[page]]\nkind = "domian"\n', 2, "kind", "domain / township"),
    ('[[page]]\nkind = "domain"\n', 1, "domain", "缺失"),
    ('[[page]]\nkind = "domain"\ndomain = "经济"\n', 3, "domain", "不是领域"),
    ('[[page]]\nkind = "township"\ntownship = "桃溪"\n', 3, "township", "桃溪镇"),
    ('[[page]]\nkind = "alerts"\ndwell = "30"\n', 3, "dwell", "秒数"),
    ('[[page]]\nkind = "alerts"\ndwell = 0.5\n', 3, "dwell", "2 至 3600"),
    ('[[page]]\nkind = "alerts"\ncolour = "red"\n', 3, "colour", "不是 alerts 页的字段"),
    ('[[page]]\nkind = "domain"\ndomain = "总览"\n\n[[page]]\nkind = "plan"\n'
     'indicator = "nope"\n', 7, "indicator", "不是本数据仓库的指标"),
    ('[playlist]\nresume_after = -1\n\n[[page]]\nkind = "alerts"\n', 2, "resume_after",
     "5 至 86400"),
    ('[[page]]\nkind = "alerts"\ndwell = 10\ndwell = 20\n', 4, None, "TOML"),
])
def test_playlist_mistakes_name_the_file_line_and_field(text, line, field, words):
    with pytest.raises(PlaylistError) as err:
        parse_playlist(text, CAT, "wall.toml")
    assert err.value.file == "wall.toml" and err.value.line == line
    assert err.value.field == field
    assert words in str(err.value) and str(err.value).startswith(f"wall.toml 第 {line} 行")


def test_an_empty_playlist_and_a_missing_file_are_clear(tmp_path):
    with pytest.raises(PlaylistError, match="没有任何页面"):
        parse_playlist("[playlist]\ndwell = 10\n", CAT)
    with pytest.raises(PlaylistError, match="无法读取播放列表"):
        load_playlist(tmp_path / "nope.toml", CAT)
    bad = tmp_path / "gbk.toml"
    bad.write_bytes('[[page]]\nkind = "domain"\ndomain = "经济运行"\n'.encode("gbk"))
    with pytest.raises(PlaylistError, match="UTF-8") as err:
        load_playlist(bad, CAT)
    assert err.value.line == 3


def test_a_public_playlist_cannot_name_an_internal_indicator():
    internal = next(i for i in DEMO_CATALOGUE if i.sensitivity == "internal")
    text = f'[[page]]\nkind = "domain"\ndomain = "总览"\nindicator = "{internal.code}"\n'
    assert parse_playlist(text, CAT).pages[0].indicator == internal.code
    with pytest.raises(PlaylistError, match="内部指标"):
        parse_playlist(text, PUBLIC)
