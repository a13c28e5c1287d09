"""One operations store may serve several warehouses; each cockpit lists only its own county's."""
from __future__ import annotations

from cockpit.alerts.store import AlertService


def test_a_warehouse_lists_only_alerts_of_its_own_county(demo_db, tmp_path, tiny):
    state = tmp_path / "operations.sqlite"
    demo = AlertService(demo_db, state_path=state)
    demo.evaluate()
    from datetime import date
    other_db = tiny.build(tmp_path / "other", [tiny.indicator("env_pm25")],
                          [("env_pm25", date(2025, 1, 1), code, 20.0) for code in tiny.TOWNS])
    other = AlertService(other_db, state_path=state)
    assert demo.list(open_only=True) and all(a.scope == "330723" for a in demo.list())
    assert other.list() == [] and sum(other.counts_by_severity().values()) == 0
    assert other.counts_by_region() == {}
    assert sum(demo.counts_by_severity().values()) == len(demo.list(open_only=True))
