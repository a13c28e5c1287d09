"""A DuckLake on one PC (its catalog a DuckDB file): the extensions load offline from their
packages, and export, info, import, time travel and a bad location behave as on a folder."""
from __future__ import annotations

import json
import subprocess
import sys

import duckdb

from cockpit import cli
from cockpit.warehouse.lake import export_folder, extension_paths, lake_of, load_extensions
from cockpit.warehouse.store import open_current


def test_the_extensions_load_from_their_packages_with_downloads_off(lake_extensions):
    con = duckdb.connect(config={"autoinstall_known_extensions": False,
                                 "autoload_known_extensions": False})
    load_extensions(con)
    loaded = dict(con.execute("SELECT extension_name, loaded FROM duckdb_extensions()"
                              " WHERE extension_name IN ('ducklake', 'postgres_scanner')").fetchall())
    assert loaded == {"ducklake": True, "postgres_scanner": True}
    assert all(f"v{duckdb.__version__}" in str(p) and p.is_file() for p in extension_paths())
    assert con.execute("SELECT current_setting('autoinstall_known_extensions')").fetchone() \
        == (False,)


def test_a_file_catalog_lake_answers_info_and_takes_an_import(demo_db, tmp_path, capsys,
                                                             lake_extensions):
    location = f"ducklake:{tmp_path / 'lake' / 'catalog.ducklake'}"
    export_folder(demo_db, location, data_path=str(tmp_path / "lake" / "data"))
    assert cli.main(["info", "--db", location, "--json"]) == 0
    info = json.loads(capsys.readouterr().out)
    assert info["warehouse"] == location and info["county"] == "武义县"
    csv = tmp_path / "more.csv"
    csv.write_text("region,indicator,period,value\n330723001,eco_industry_va,2014-06,3.5\n",
                   encoding="utf-8")
    before = lake_of(location).latest()
    assert cli.main(["import", str(csv), "--db", location]) == 0
    assert lake_of(location).latest() > before
    snap = open_current(location)
    try:
        assert snap.cursor().execute("SELECT value FROM observations WHERE region = '330723001'"
                                     " AND period = '2014-06-01'").fetchone() == (3.5,)
    finally:
        snap.close()


def test_a_lake_from_before_english_definitions_reads_and_takes_a_catalogue_with_them(
        old_warehouse, english_catalogue, tmp_path, lake_extensions):
    from cockpit.warehouse.publish import import_files
    from cockpit.warehouse.queries import Queries

    catalogue, english = english_catalogue
    location = f"ducklake:{tmp_path / 'lake' / 'catalog.ducklake'}"
    export_folder(old_warehouse, location, data_path=str(tmp_path / "lake" / "data"))
    snap = open_current(location)
    try:
        pm25 = Queries(snap).indicator_by_code["env_pm25"]
        assert pm25.definition_en == "" and pm25.definition_in("en") == pm25.definition
    finally:
        snap.close()
    assert import_files([catalogue], location).published
    snap = open_current(location)
    try:
        q = Queries(snap)
        assert q.indicator_by_code["eco_industry_va"].definition_in("en") == english
        assert q.indicator_by_code["env_pm25"].definition_en == ""
    finally:
        snap.close()


def test_a_new_lake_without_a_data_folder_and_a_bad_location_are_one_line_each(demo_db,
                                                                              tmp_path):
    for args, says in ((["--to", f"ducklake:{tmp_path / 'new.ducklake'}"], "--data-path"),
                       (["--to", str(tmp_path / "plain")], "ducklake:")):
        run = subprocess.run([sys.executable, "-m", "cockpit", "warehouse", "export", "--db",
                              str(demo_db), *args], capture_output=True, text=True, timeout=120)
        assert run.returncode == 2 and says in run.stderr
        assert run.stderr.count("\n") == 1 and "Traceback" not in run.stderr
