"""Publishing an import: one new snapshot, facts upserted, comparisons derived as a full build would."""
from __future__ import annotations

from datetime import date

import duckdb

from cockpit.warehouse import schema
from cockpit.warehouse.publish import import_files
from cockpit.warehouse.store import SnapshotStore, open_current


def rows(db, sql, params=()):
    snap = open_current(db)
    try:
        return snap.cursor().execute(sql, list(params)).fetchall()
    finally:
        snap.close()


def derived_as_a_full_build(db) -> list:
    """prev/yoy recomputed from scratch by the schema's finalize, for comparison."""
    snap = open_current(db)
    path = str(snap.store.snapshot_path(snap.manifest)).replace("'", "''")
    snap.close()
    con = duckdb.connect()
    con.execute(schema.DDL)
    con.execute(schema.STAGING_DDL)
    con.execute(f"ATTACH '{path}' AS src (READ_ONLY)")
    con.execute("INSERT INTO indicators SELECT * FROM src.indicators")
    con.execute("INSERT INTO staging_observations"
                " SELECT indicator, period, region, value FROM src.observations")
    con.execute("DETACH src")
    schema.finalize(con)
    return con.execute("SELECT * FROM observations").fetchall()


def rewrite_current(db, *statements):
    """Publish a copy of the current snapshot changed by some SQL (to set up odd warehouses)."""
    store = SnapshotStore(db)
    current = store.current()
    path = str(store.snapshot_path(current)).replace("'", "''")
    with store.writer() as con:
        con.execute(f"ATTACH '{path}' AS src (READ_ONLY)")
        name = con.execute("SELECT current_database()").fetchone()[0]
        con.execute(f'COPY FROM DATABASE src TO "{name}"')
        con.execute("DETACH src")
        for sql in statements:
            con.execute(sql)


def test_an_update_in_the_middle_of_history_rederives_neighbours_exactly(wh, tmp_path):
    path = tmp_path / "fix.csv"
    path.write_text("乡镇,指标,期间,数值\n"
                    "桃溪镇,规上工业增加值,2024-06,0.9\n"      # changes 2024-07's prev, 2025-06's yoy
                    "桃溪镇,地区生产总值,2024年二季度,3.3\n"    # quarterly: changes 2024-09's prev
                    "全县,亩均税收,2026,30.5\n",                # a new year: as_of moves to 2026-12?
                    encoding="utf-8")
    result = import_files([path], wh, today=date(2027, 3, 1))
    assert result.published, result.report.format()
    assert result.snapshot.version == 2
    stored = sorted(rows(wh, "SELECT * FROM observations"))
    assert stored == sorted(derived_as_a_full_build(wh))
    [(prev,)] = rows(wh, "SELECT prev_value FROM observations WHERE indicator = 'eco_industry_va'"
                         " AND region = '330723005' AND period = '2024-07-01'")
    assert prev == 0.9
    assert rows(wh, "SELECT value FROM meta WHERE key = 'as_of'") == [("2026-12",)]


def test_replace_drops_the_old_facts_of_imported_indicators_only(wh, tmp_path):
    path = tmp_path / "only.csv"
    path.write_text("乡镇,指标,期间,数值\n桃溪镇,投诉举报量,2025-12,7\n桃溪镇,投诉举报量,2025-11,6\n",
                    encoding="utf-8")
    other_before = rows(wh, "SELECT count(*) FROM observations WHERE indicator <> 'mkt_complaints'")
    result = import_files([path], wh, replace=True)
    assert result.published
    assert rows(wh, "SELECT period, value, prev_value FROM observations"
                    " WHERE indicator = 'mkt_complaints' AND region = '330723005'"
                    " ORDER BY period") == [
        (date(2025, 11, 1), 6.0, None), (date(2025, 12, 1), 7.0, 6.0)]
    # The county's figures are derived again from the one township left (由乡镇汇总).
    assert rows(wh, "SELECT o.period, o.value, d.children FROM observations o"
                    " JOIN derived_figures d USING (indicator, period, region)"
                    " WHERE indicator = 'mkt_complaints' ORDER BY period") == [
        (date(2025, 11, 1), 6.0, 1), (date(2025, 12, 1), 7.0, 1)]
    assert rows(wh, "SELECT count(*) FROM observations WHERE indicator <> 'mkt_complaints'") == \
        other_before
    assert sorted(rows(wh, "SELECT * FROM observations")) == sorted(derived_as_a_full_build(wh))


def test_comparisons_from_unstored_history_survive_an_import(wh, tmp_path):
    # Scale warehouses derive the first stored year's prev/yoy from history they do not keep.
    rewrite_current(wh, "UPDATE observations SET prev_value = -1 WHERE period = DATE '2020-01-01'")
    path = tmp_path / "jan2020.csv"
    path.write_text("乡镇,指标,期间,数值\n桃溪镇,规上工业增加值,2020-01,0.5\n", encoding="utf-8")
    assert import_files([path], wh).published
    kept = rows(wh, "SELECT DISTINCT prev_value FROM observations WHERE period = DATE '2020-01-01'")
    assert kept == [(-1.0,)]  # untouched rows, and the updated row whose prev was not imported


def test_extra_tables_are_carried_over_and_the_region_order_copy_is_rebuilt(wh, tmp_path):
    rewrite_current(
        wh, "CREATE TABLE team_notes AS SELECT 'kept' AS note",
        "CREATE TABLE observations_by_region AS SELECT * FROM observations"
        " ORDER BY region, indicator, period",
        "INSERT INTO meta VALUES ('region_order_table', 'observations_by_region')")
    path = tmp_path / "new.csv"
    path.write_text("乡镇,指标,期间,数值\n桃溪镇,规上工业增加值,2026-01,1.4\n", encoding="utf-8")
    assert import_files([path], wh).published
    assert rows(wh, "SELECT note FROM team_notes") == [("kept",)]
    assert rows(wh, "SELECT count(*) FROM observations_by_region") == \
        rows(wh, "SELECT count(*) FROM observations")
    assert rows(wh, "SELECT region, value FROM observations_by_region"
                    " WHERE period = '2026-01-01' ORDER BY region") == \
        [("330723", 1.4), ("330723005", 1.4)]   # the county's derived from its one township


def test_each_import_is_one_snapshot_and_the_log_names_files_and_departments(wh, tmp_path):
    a, b = tmp_path / "a.csv", tmp_path / "b.csv"
    a.write_text("乡镇,指标,期间,数值\n桃溪镇,投诉举报量,2026-01,5\n", encoding="utf-8")
    b.write_text("乡镇,指标,期间,数值\n桃溪镇,网办率,2026-01,95\n", encoding="utf-8")
    assert import_files([a, b], wh).snapshot.version == 2
    assert import_files([a], wh).snapshot.version == 3
    log = rows(wh, "SELECT snapshot, file, indicator, department, rows FROM import_log"
                   " ORDER BY snapshot, file")
    assert log == [(2, "a.csv", "mkt_complaints", "县市场监督管理局", 1),
                   (2, "b.csv", "svc_online_rate", "县行政服务中心", 1),
                   (3, "a.csv", "mkt_complaints", "县市场监督管理局", 1)]
