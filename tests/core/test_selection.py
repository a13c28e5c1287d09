from datetime import date

import pytest

from cockpit.core.selection import Selection, SelectionState


def make():
    return Selection(SelectionState("330723", "env_pm25", date(2025, 12, 1), "overview"))


def test_update_of_several_fields_emits_once_with_all_changed_fields():
    sel, seen = make(), []
    sel.connect(lambda changed, state: seen.append((changed, state)))
    sel.update(region="330723005", indicator="eco_retail")
    assert len(seen) == 1
    assert seen[0][0] == {"region", "indicator"}
    assert seen[0][1].region == "330723005"


def test_setting_a_field_to_its_current_value_emits_nothing():
    sel, seen = make(), []
    sel.connect(lambda *a: seen.append(a))
    assert sel.update(region="330723") == frozenset()
    assert seen == []
    assert not sel.can_go_back


def test_back_and_forward_restore_states_like_a_browser():
    sel = make()
    sel.update(region="330723005")
    sel.update(indicator="eco_retail")
    assert sel.back() and sel.state.indicator == "env_pm25" and sel.region == "330723005"
    assert sel.back() and sel.region == "330723"
    assert not sel.back()
    assert sel.forward() and sel.region == "330723005"
    sel.update(period=date(2025, 6, 1))  # a new branch drops the forward history
    assert not sel.can_go_forward


def test_unrecorded_changes_do_not_fill_history():
    sel = make()
    sel.update(period=date(2025, 1, 1), record=False)
    assert not sel.can_go_back


def test_disconnect_stops_notifications_and_unknown_fields_are_refused():
    sel, seen = make(), []
    off = sel.connect(lambda *a: seen.append(a))
    off()
    sel.update(region="330723001")
    assert seen == [] and sel.listener_count == 0
    with pytest.raises(TypeError):
        sel.update(township="x")


def test_fix_makes_the_state_and_its_history_valid_with_one_notification():
    sel, seen = make(), []
    sel.update(period=date(2026, 1, 1))
    sel.update(region="330723005")
    sel.update(period=date(2025, 12, 1))
    sel.back()                      # at (330723005, 2026-01), forward: 2025-12
    sel.connect(lambda changed, state: seen.append(changed))

    def no_january(state):          # a snapshot that ends in December
        return state if state.period < date(2026, 1, 1) else \
            SelectionState(state.region, state.indicator, date(2025, 12, 1), state.domain)

    assert sel.fix(no_january) == {"period"}
    assert seen == [{"period"}]
    assert sel.state.period == date(2025, 12, 1)
    # the step forward is now no step at all; back goes to the county, never to January
    assert not sel.can_go_forward
    assert sel.back() and sel.region == "330723" and sel.period == date(2025, 12, 1)
    assert not sel.back()


def test_restart_empties_the_history_and_notifies_once_with_what_changed():
    sel, seen = make(), []
    start = sel.state
    sel.update(region="330723005")
    sel.update(indicator="eco_retail")
    sel.back()
    assert sel.can_go_back and sel.can_go_forward
    sel.connect(lambda changed, state: seen.append(changed))
    assert sel.restart(start) == {"region"}
    assert seen == [{"region"}] and sel.state == start
    assert not sel.can_go_back and not sel.can_go_forward
    assert sel.restart(start) == frozenset() and len(seen) == 1
