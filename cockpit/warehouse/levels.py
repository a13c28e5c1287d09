"""Figures of a level that agree with the level below: a county's (or city's) figure derived by
each indicator's aggregation rule where it was not reported, and a reported one checked against its
townships (or counties) at import.

Derived figures are ordinary observations (every panel, alert and export reads them as usual) and
are listed in `derived_figures`, so the cockpit can say 由乡镇汇总 beside them. They are derived
again from scratch whenever a snapshot's facts change: a later import of a township or of the
county's own figure replaces them. County-only indicators are never derived.
"""
from __future__ import annotations

import pyarrow as pa

DERIVED_TABLE = "derived_figures"
DERIVED_DDL = f"""
CREATE TABLE IF NOT EXISTS {DERIVED_TABLE} (
    indicator    VARCHAR NOT NULL,
    period       DATE NOT NULL,
    region       VARCHAR NOT NULL,
    children     INTEGER NOT NULL,   -- children whose figures went into it
    of_children  INTEGER NOT NULL    -- children the region has
);
"""
# A reported figure may differ from its children's aggregate by this share of itself (rounding,
# late revisions) before an import says so.
TOLERANCE = 0.01

# The aggregate of rows `s` (value) of children `g` (population) by indicator `i`'s rule; a
# population-weighted mean falls back to the plain mean when a child's population is unknown.
AGGREGATE_SQL = """
CASE i.aggregation
    WHEN 'sum' THEN sum(s.value)
    WHEN 'mean' THEN avg(s.value)
    ELSE CASE WHEN count(g.population) = count(*) AND sum(g.population) > 0
              THEN sum(s.value * g.population) / sum(g.population)
              ELSE avg(s.value) END
END"""
AGGREGATION_WORDS = {"sum": "合计", "mean": "平均", "pop_mean": "按人口加权平均"}


def region_depths(con, table: str = "regions") -> pa.Table:
    """code, parent, depth (0 at a root), population of every region, as Arrow."""
    rows = con.execute(f"SELECT code, parent, population FROM {table}").fetchall()
    parent = {code: p for code, p, _ in rows}
    depth: dict[str, int] = {}
    for code in parent:
        chain, here = [], code
        while here is not None and here not in depth and len(chain) < 16:
            chain.append(here)
            up = parent.get(here)
            here = up if up in parent else None
        base = depth[here] + 1 if here is not None and here in depth else 0
        for k, c in enumerate(reversed(chain)):
            depth[c] = base + k
    return pa.table({
        "code": pa.array([r[0] for r in rows], pa.string()),
        "parent": pa.array([r[1] if r[1] in parent else None for r in rows], pa.string()),
        "depth": pa.array([depth[r[0]] for r in rows], pa.int32()),
        "population": pa.array([r[2] if r[2] and r[2] > 0 else None for r in rows],
                               pa.float64()),
    })


def derive(con, staging: str = "staging_observations") -> int:
    """Add to `staging` every parent figure that is absent where children report, level by
    level from the deepest up (a city's figure from its counties' derived ones), and list them
    in `derived_figures` (emptied first). Returns the number of figures derived."""
    con.execute(DERIVED_DDL)
    con.execute(f"DELETE FROM {DERIVED_TABLE}")
    con.register("level_regions", region_depths(con))
    try:
        deepest = con.execute("SELECT max(depth) FROM level_regions").fetchone()[0] or 0
        total = 0
        for depth in range(deepest, 0, -1):
            con.execute(f"""
                CREATE OR REPLACE TEMP TABLE level_derived AS
                WITH kids AS (SELECT parent, count(*) AS n FROM level_regions
                              WHERE depth = $depth AND parent IS NOT NULL GROUP BY parent),
                agg AS (
                    SELECT s.indicator, s.period, g.parent AS region,
                           round({AGGREGATE_SQL}, any_value(i.decimals)) AS value,
                           count(*) AS children
                    FROM {staging} s
                    JOIN level_regions g ON g.code = s.region AND g.depth = $depth
                    JOIN indicators i ON i.code = s.indicator
                    WHERE g.parent IS NOT NULL AND i.aggregation <> 'county_only'
                    GROUP BY s.indicator, s.period, g.parent, i.aggregation
                )
                SELECT a.*, k.n AS of_children FROM agg a JOIN kids k ON k.parent = a.region
                ANTI JOIN {staging} x
                     ON x.indicator = a.indicator AND x.period = a.period AND x.region = a.region
            """, {"depth": depth})
            n = con.execute("SELECT count(*) FROM level_derived").fetchone()[0]
            if n:
                con.execute(f"INSERT INTO {staging} (indicator, period, region, value)"
                            " SELECT indicator, period, region, value FROM level_derived")
                con.execute(f"INSERT INTO {DERIVED_TABLE} SELECT indicator, period, region,"
                            " children, of_children FROM level_derived")
                total += n
        con.execute("DROP TABLE IF EXISTS level_derived")
        return total
    finally:
        con.unregister("level_regions")


def disagreements(cur, imported: str = "imp_final", limit: int = 1000) -> list[dict]:
    """Parents whose reported figure differs from their children's aggregate beyond the
    tolerance, where the import gave either side and every child has a reported figure.

    `cur` sees the current snapshot's tables and the import's facts `imported` (indicator,
    period, region, value). Each row: indicator, period, region (the parent), reported, derived,
    children, parent_imported."""
    has_derived = cur.execute(
        "SELECT count(*) FROM duckdb_tables() WHERE table_name = ? AND database_name ="
        " current_database()", [DERIVED_TABLE]).fetchone()[0]
    not_derived = (f"ANTI JOIN {DERIVED_TABLE} d ON d.indicator = o.indicator"
                   " AND d.period = o.period AND d.region = o.region" if has_derived else "")
    cur.execute(f"""
        WITH touched AS (SELECT DISTINCT indicator, period FROM {imported}),
        merged AS (
            SELECT indicator, period, region, value, true AS imported FROM {imported}
            UNION ALL
            SELECT o.indicator, o.period, o.region, o.value, false AS imported
            FROM observations o JOIN touched t
              ON t.indicator = o.indicator AND t.period = o.period
            ANTI JOIN {imported} f
              ON f.indicator = o.indicator AND f.period = o.period AND f.region = o.region
            {not_derived}
        ),
        kids AS (SELECT parent, count(*) AS n FROM regions WHERE parent IS NOT NULL
                 GROUP BY parent),
        agg AS (
            SELECT s.indicator, s.period, g.parent AS region, {AGGREGATE_SQL} AS derived,
                   count(*) AS children, bool_or(s.imported) AS child_imported,
                   any_value(i.decimals) AS decimals
            FROM merged s JOIN regions g ON g.code = s.region
            JOIN indicators i ON i.code = s.indicator
            WHERE g.parent IS NOT NULL AND i.aggregation <> 'county_only'
            GROUP BY s.indicator, s.period, g.parent, i.aggregation
        )
        SELECT a.indicator, a.period, a.region, p.value AS reported, a.derived, a.children,
               p.imported AS parent_imported
        FROM agg a JOIN kids k ON k.parent = a.region AND k.n = a.children
        JOIN merged p ON p.indicator = a.indicator AND p.period = a.period
                     AND p.region = a.region
        WHERE (p.imported OR a.child_imported)
          AND abs(p.value - a.derived) > greatest($tol * abs(p.value),
                                                  (a.children + 1) * 0.5 * pow(10, -a.decimals))
        ORDER BY a.indicator, a.period, a.region
        LIMIT $limit
    """, {"tol": TOLERANCE, "limit": limit})
    names = [d[0] for d in cur.description]
    return [dict(zip(names, row)) for row in cur.fetchall()]
