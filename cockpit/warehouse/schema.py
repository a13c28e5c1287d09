"""The warehouse schema: tables every snapshot has, and the columns derived when a snapshot is built."""
from __future__ import annotations

import pyarrow as pa

SCHEMA_VERSION = 1

# A second copy of the facts ordered by (region, indicator, period), for warehouses large enough
# that reading one place's rows from the (indicator, period, region) order costs a scan: the city,
# province and nation datasets (meta region_order_table names it; imports rebuild it).
REGION_ORDER_TABLE = "observations_by_region"

DDL = """
CREATE TABLE meta (
    key   VARCHAR PRIMARY KEY,
    value VARCHAR NOT NULL
);
CREATE TABLE regions (
    code       VARCHAR PRIMARY KEY,
    name       VARCHAR NOT NULL,
    name_en    VARCHAR,
    level      VARCHAR NOT NULL CHECK (level IN ('province', 'city', 'county', 'township')),
    kind       VARCHAR,              -- 街道 / 镇 / 乡 for townships
    parent     VARCHAR,
    geometry   BLOB,                 -- WKB, lon/lat (WGS84 / CGCS2000)
    area_km2   DOUBLE,
    label_lon  DOUBLE,
    label_lat  DOUBLE,
    population DOUBLE,               -- 常住人口, persons; weights pop_mean aggregation
    schematic  BOOLEAN NOT NULL DEFAULT FALSE,
    sort_order INTEGER
);
CREATE TABLE indicators (
    code           VARCHAR PRIMARY KEY,
    name           VARCHAR NOT NULL,
    name_en        VARCHAR,
    domain         VARCHAR NOT NULL,
    unit           VARCHAR NOT NULL,
    polarity       VARCHAR NOT NULL CHECK (polarity IN ('higher', 'lower', 'neutral')),
    frequency      VARCHAR NOT NULL CHECK (frequency IN ('month', 'quarter', 'year')),
    aggregation    VARCHAR NOT NULL CHECK (aggregation IN ('sum', 'mean', 'pop_mean', 'county_only')),
    department     VARCHAR NOT NULL,
    definition     VARCHAR NOT NULL,
    definition_en  VARCHAR NOT NULL DEFAULT '',   -- (added later: older snapshots lack it)
    sensitivity    VARCHAR NOT NULL CHECK (sensitivity IN ('public', 'internal')),
    baseline_value DOUBLE,
    baseline_year  INTEGER,
    target_value   DOUBLE,
    target_year    INTEGER,
    decimals       INTEGER NOT NULL DEFAULT 1,
    headline       BOOLEAN NOT NULL DEFAULT FALSE,
    plan_kpi       INTEGER,
    annual         VARCHAR CHECK (annual IN ('total', 'mean', 'year_end', 'ytd')),
    sort_order     INTEGER
);
-- Facts. A period is the first day of the period's last month (2025-03-01 is 2025年一季度,
-- 2025-12-01 is the year 2025), so "latest as of a month" is a plain comparison.
-- prev_value (previous period of the indicator's frequency) and yoy_value (same period a year
-- earlier) are derived when the snapshot is built: interactive queries never run windows.
CREATE TABLE observations (
    indicator  VARCHAR NOT NULL,
    period     DATE NOT NULL,
    region     VARCHAR NOT NULL,
    value      DOUBLE NOT NULL,
    prev_value DOUBLE,
    yoy_value  DOUBLE
);
CREATE TABLE events (
    id          VARCHAR PRIMARY KEY,
    region      VARCHAR NOT NULL,
    source      VARCHAR NOT NULL,    -- 基层治理四平台 / 12345 / 安全生产
    category    VARCHAR NOT NULL,
    summary     VARCHAR NOT NULL,
    reported_at TIMESTAMP NOT NULL,
    deadline_at TIMESTAMP,
    closed_at   TIMESTAMP,
    status      VARCHAR NOT NULL CHECK (status IN ('处置中', '已办结', '已超期')),
    lon         DOUBLE,
    lat         DOUBLE
);
-- Plan targets loaded from targets files (规划目标). The indicators' own baseline and target
-- columns are the default plan (十四五); a targets file replaces every row of each plan it names.
CREATE TABLE targets (
    plan           VARCHAR NOT NULL,    -- 十五五
    indicator      VARCHAR NOT NULL,
    baseline_year  INTEGER,
    baseline_value DOUBLE,              -- NULL: the baseline year's figure in the data
    target_year    INTEGER NOT NULL,
    target_value   DOUBLE NOT NULL,
    source         VARCHAR NOT NULL,    -- the plan document
    file           VARCHAR,             -- the targets file it came from
    PRIMARY KEY (plan, indicator)
);
CREATE TABLE alert_rules (
    id       VARCHAR PRIMARY KEY,
    kind     VARCHAR NOT NULL,
    severity VARCHAR NOT NULL,
    params   VARCHAR NOT NULL        -- JSON; never evaluated as code
);
"""

# Observations as loaded, before derivation; builders fill this and then call `finalize`.
STAGING_DDL = """
CREATE TEMP TABLE staging_observations (
    indicator VARCHAR NOT NULL,
    period    DATE NOT NULL,
    region    VARCHAR NOT NULL,
    value     DOUBLE NOT NULL
);
"""

# The previous period (by the indicator's frequency) and the same period a year earlier, joined
# from the staged facts; then the facts are written in read order and the staging table dropped.
_COMPARISONS = """
LEFT JOIN staging_observations p
       ON p.indicator = s.indicator AND p.region = s.region
      AND p.period = s.period - CASE i.frequency WHEN 'month' THEN INTERVAL 1 MONTH
                                                 WHEN 'quarter' THEN INTERVAL 3 MONTH
                                                 ELSE INTERVAL 12 MONTH END
LEFT JOIN staging_observations y
       ON y.indicator = s.indicator AND y.region = s.region
      AND y.period = s.period - INTERVAL 12 MONTH
ORDER BY s.indicator, s.period, s.region;
DROP TABLE staging_observations;
"""

# Rows are stored in the order the hottest query reads them (one indicator, one period, all
# regions) so that query touches one contiguous run of rows.
FINALIZE_SQL = """
INSERT INTO observations
SELECT s.indicator, s.period, s.region, s.value, p.value AS prev_value, y.value AS yoy_value
FROM staging_observations s
JOIN indicators i ON i.code = s.indicator
""" + _COMPARISONS


def create_schema(con) -> None:
    con.execute(DDL)
    con.execute(STAGING_DDL)
    con.execute("INSERT INTO meta VALUES ('schema_version', ?)", [str(SCHEMA_VERSION)])


def insert(con, table: str, rows) -> None:
    """Append an Arrow table's rows to `table`, columns matched by name (the builders' one way in)."""
    view = f"{table}_in"
    con.register(view, rows)
    try:
        con.execute(f"INSERT INTO {table} BY NAME SELECT * FROM {view}")
    finally:
        con.unregister(view)


def finalize(con) -> None:
    """Derive the comparison columns and write the facts in read order."""
    con.execute(FINALIZE_SQL)


# After an import: prev_value / yoy_value derived by the same rules as FINALIZE_SQL from the
# merged facts, except that where the previous (or year-ago) fact is not stored, a row keeps the
# comparison it had: scale warehouses derive their first year's from history they do not keep.
# Indicators in replaced_indicators were replaced whole by the import and keep nothing.
# Expects TEMP tables staging_observations (every fact of the new snapshot, values only) and
# replaced_indicators (code), and a view old_observations (the previous snapshot's observations).
REDERIVE_SQL = """
INSERT INTO observations
SELECT s.indicator, s.period, s.region, s.value,
       coalesce(p.value, CASE WHEN r.code IS NULL THEN o.prev_value END) AS prev_value,
       coalesce(y.value, CASE WHEN r.code IS NULL THEN o.yoy_value END) AS yoy_value
FROM staging_observations s
JOIN indicators i ON i.code = s.indicator
LEFT JOIN replaced_indicators r ON r.code = s.indicator
LEFT JOIN old_observations o
       ON o.indicator = s.indicator AND o.period = s.period AND o.region = s.region
""" + _COMPARISONS


def rederive(con) -> None:
    """Write the facts of an imported snapshot with their comparisons (see REDERIVE_SQL)."""
    con.execute(REDERIVE_SQL)


# The events table as Arrow, for everything that makes events (the demo, the scale datasets,
# an import): one list of columns and types, in the DDL's order.
EVENTS_ARROW = pa.schema([
    ("id", pa.string()), ("region", pa.string()), ("source", pa.string()),
    ("category", pa.string()), ("summary", pa.string()), ("reported_at", pa.timestamp("s")),
    ("deadline_at", pa.timestamp("s")), ("closed_at", pa.timestamp("s")),
    ("status", pa.string()), ("lon", pa.float64()), ("lat", pa.float64()),
])


def events_table(columns: dict) -> pa.Table:
    """Events as an Arrow table from column lists (or arrays) named as in EVENTS_ARROW."""
    return pa.table({f.name: pa.array(columns[f.name], f.type) for f in EVENTS_ARROW},
                    schema=EVENTS_ARROW)
