"""Builds the deterministic 武义县 demo warehouse: townships, catalogue, facts from 2020 on, events.

The figures are synthetic but shaped like the county's: urban 街道 are populous and service-heavy,
白洋街道 (the development zone), 桐琴镇 and 泉溪镇 carry the industry, the southern mountain 乡 are
small, green and touristic; flows have trend, seasonality (Spring Festival, Golden Week, winter
PM2.5) and the 2020/2022 epidemic dips. Where the Wuyi digital-government plan gives a real 2020
county figure, the demo's 2020 county figure equals it.

The data run to `end`, by default the last month that has ended before the build, so a presenter
is never greeted by "data 12 months old". The plan period 2020-01 … 2025-12 is always there and
draws its randomness exactly as a fixed six-year demo did; later months draw from each indicator's
own stream, month by month, so a demo built a month later extends the series instead of
reshuffling it. `anomalies(end)` lists the problems injected on purpose, placed in the latest
months (documented in data/README.md); the alert engine is judged against them.
"""
from __future__ import annotations

import calendar
import json
import zlib
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Callable

import numpy as np
import pyarrow as pa
import shapely

from ..core.catalogue import DEMO_CATALOGUE, DOMAINS, Indicator
from ..core.plan import MEAN, TOTAL, YEAR_END, annual_basis
from ..geo import partition as geo
from . import schema
from .demo_end import DEFAULT_SEED, PLAN_END, add_months, default_end, month_key
from .store import Manifest, SnapshotStore

COUNTY_CODE = "330723"
COUNTY_NAME = "武义县"
CITY_NAME = "金华市"
CITY_NAME_EN = "Jinhua"      # (the city is not a region of the county's warehouse: meta)
FIRST_MONTH = date(2020, 1, 1)
PLAN_MONTHS = 72              # 2020-01 … PLAN_END (2025-12)
LATER_NOISE_BOUND = 1.5       # σ; see _Generator.later


@dataclass(frozen=True)
class Township:
    name: str
    name_en: str
    kind: str
    population: int      # 常住人口
    industry: float      # share of industrial activity (normalised below)
    tourism: float       # share of tourism
    urban: float         # 0 mountain village … 1 town centre


# Populations follow the 2020 census order of magnitude (county ≈ 46–48万 residents).
TOWNSHIPS: tuple[Township, ...] = (
    Township("熟溪街道", "Shuxi", "街道", 72000, 0.07, 0.20, 1.0),
    Township("壶山街道", "Hushan", "街道", 78000, 0.08, 0.10, 1.0),
    Township("白洋街道", "Baiyang", "街道", 62000, 0.22, 0.03, 0.9),
    Township("柳城畲族镇", "Liucheng She", "镇", 22000, 0.03, 0.12, 0.35),
    Township("桃溪镇", "Taoxi", "镇", 20000, 0.03, 0.05, 0.4),
    Township("泉溪镇", "Quanxi", "镇", 36000, 0.12, 0.02, 0.6),
    Township("新宅镇", "Xinzhai", "镇", 14000, 0.02, 0.08, 0.3),
    Township("茭道镇", "Jiaodao", "镇", 24000, 0.05, 0.03, 0.5),
    Township("履坦镇", "Lütan", "镇", 26000, 0.06, 0.03, 0.55),
    Township("王宅镇", "Wangzhai", "镇", 32000, 0.08, 0.03, 0.6),
    Township("桐琴镇", "Tongqin", "镇", 38000, 0.14, 0.02, 0.65),
    Township("俞源乡", "Yuyuan", "乡", 9000, 0.01, 0.15, 0.2),
    Township("坦洪乡", "Tanhong", "乡", 8000, 0.01, 0.02, 0.15),
    Township("西联乡", "Xilian", "乡", 8000, 0.01, 0.03, 0.1),
    Township("三港乡", "Sangang", "乡", 6000, 0.005, 0.02, 0.1),
    Township("大溪口乡", "Daxikou", "乡", 10000, 0.02, 0.02, 0.25),
    Township("白姆乡", "Baimu", "乡", 12000, 0.03, 0.02, 0.3),
    Township("大田乡", "Datian", "乡", 7000, 0.01, 0.05, 0.15),
)
TOWNSHIP_CODES = {t.name: f"{COUNTY_CODE}{i + 1:03d}" for i, t in enumerate(TOWNSHIPS)}


# --- seasonality (multipliers by calendar month, Jan…Dec) -----------------------------------
SEASON = {
    "flat": [1.0] * 12,
    "industry": [0.97, 0.62, 1.0, 1.0, 1.02, 1.05, 1.0, 0.98, 1.05, 1.02, 1.08, 1.2],
    "investment": [0.55, 0.5, 0.95, 1.0, 1.02, 1.2, 0.95, 0.95, 1.1, 1.0, 1.05, 1.6],
    "retail": [1.12, 1.1, 0.92, 0.93, 0.98, 0.98, 0.94, 0.95, 0.98, 1.1, 1.02, 1.12],
    "tourism": [0.95, 1.3, 0.75, 1.05, 1.3, 0.8, 1.05, 1.15, 0.85, 1.45, 0.75, 0.95],
    "fiscal": [1.45, 0.75, 0.95, 1.15, 1.2, 0.95, 1.1, 0.85, 0.9, 1.05, 0.85, 0.8],
    "pm25": [1.55, 1.3, 1.08, 0.9, 0.82, 0.62, 0.55, 0.6, 0.75, 0.92, 1.22, 1.49],
    "complaints": [0.9, 0.8, 1.2, 1.0, 0.95, 1.0, 1.05, 1.05, 0.95, 0.95, 1.15, 1.0],
    "fire": [1.5, 1.6, 1.2, 1.0, 0.8, 0.7, 0.7, 0.7, 0.8, 0.9, 1.1, 1.3],
    "events": [0.85, 0.75, 1.0, 1.05, 1.05, 1.1, 1.15, 1.15, 1.0, 0.95, 0.95, 1.0],
    "service": [1.05, 0.7, 1.05, 1.0, 1.0, 1.0, 1.05, 1.0, 0.95, 0.9, 1.05, 1.25],
    "new_entities": [0.9, 0.6, 1.15, 1.05, 1.05, 1.1, 1.0, 1.0, 1.0, 0.95, 1.05, 1.15],
}
# Additive seasonal offsets for rates, percentage points.
SEASON_PP = {
    "aqi": [-9, -6, -2, 2, 2, 4, 5, 4, 3, 1, -3, -8],
    "water": [0, 0, -1, -1, -2, -3, -2, -2, -1, 0, 0, 0],
}


def _epidemic(months: np.ndarray, strength: float) -> np.ndarray:
    """Multiplier for the 2020 and 2022 epidemic dips; `strength` 0 (none) … 1 (tourism)."""
    dip = {(2020, 1): 0.85, (2020, 2): 0.45, (2020, 3): 0.7, (2020, 4): 0.88, (2020, 5): 0.95,
           (2022, 4): 0.88, (2022, 5): 0.92, (2022, 12): 0.8, (2023, 1): 0.85}
    out = np.ones(len(months))
    for k, (y, m) in enumerate(months):
        if (y, m) in dip:
            out[k] = 1 - (1 - dip[(y, m)]) * strength
    return out


@dataclass(frozen=True)
class Spec:
    """How an indicator's demo values are shaped.

    kind: flow (sum of a monthly amount), count (Poisson events), stock (level that accumulates),
          rate (a percentage or mean level), county (county_only series).
    level: 2020 county level — monthly total for flow/count, county mean for rate/level.
    growth: annual growth (fraction) for flow/count/stock; for rate, the 2025 county level.
    driver: what spreads the county over townships (pop, industry, tourism, rural, urban, flat).
    spread: for rates, how far townships sit from the county mean (in the rate's units).
    after: for rates, annual growth after 2025 (a percentage levels off at its 2025 level; an
           income or a tax per mu keeps growing).
    """
    kind: str
    level: float
    growth: float = 0.0
    season: str = "flat"
    driver: str = "pop"
    spread: float = 0.0
    noise: float = 0.03
    lo: float = 0.0
    hi: float = 100.0
    epidemic: float = 0.0
    season_pp: str | None = None
    after: float = 0.0


SPECS: dict[str, Spec] = {
    "eco_industry_va": Spec("flow", 8.6, 0.085, "industry", "industry", noise=0.04, epidemic=0.8),
    "eco_tax_per_mu": Spec("rate", 24.6, 31.0, driver="industry", spread=6.0, noise=0.04,
                           lo=6, hi=80, after=0.04),
    "eco_fai": Spec("flow", 12.5, 0.07, "investment", "industry", noise=0.12, epidemic=0.6),
    "eco_retail": Spec("flow", 10.6, 0.06, "retail", "pop", noise=0.03, epidemic=0.9),
    "eco_new_entities": Spec("count", 820, 0.05, "new_entities", "urban", epidemic=0.8),
    "eco_gdp": Spec("flow", 22.4, 0.07, "flat", "industry", noise=0.02, epidemic=0.4),
    "eco_fiscal_revenue": Spec("flow", 2.3, 0.06, "fiscal", "industry", noise=0.08,
                               epidemic=0.5),
    "eco_industry_power": Spec("flow", 16500, 0.06, "industry", "industry", noise=0.03,
                               epidemic=0.7),
    "eco_tourists": Spec("flow", 92, 0.09, "tourism", "tourism", noise=0.06, epidemic=1.0),
    "eco_exports": Spec("flow", 12.8, 0.08, "industry", "industry", noise=0.07, epidemic=0.5),
    "eco_rural_income": Spec("rate", 24886, 34200, driver="urban", spread=4500, noise=0.01,
                             lo=12000, hi=80000, after=0.05),
    "eco_project_progress": Spec("county", 0, noise=0.02),  # cumulative within the year
    "mkt_double_random": Spec("rate", 28.2, 61.0, driver="urban", spread=5.0, noise=0.05,
                              lo=5, hi=100),
    "mkt_food_pass": Spec("rate", 97.4, 98.6, driver="urban", spread=0.6, noise=0.004,
                          lo=85, hi=100),
    "mkt_complaints": Spec("count", 430, 0.04, "complaints", "urban"),
    "mkt_credit_cover": Spec("county", 0),
    "mkt_mobile_enforce": Spec("rate", 78.0, 96.5, driver="urban", spread=3.0, noise=0.015,
                               lo=40, hi=100),
    "mkt_mobile_case": Spec("county", 0),
    "mkt_archive_cover": Spec("county", 0),
    "mkt_entities_total": Spec("stock", 5.2, 0.065, driver="urban", noise=0.002),
    "mkt_special_equipment": Spec("rate", 98.2, 99.4, driver="flat", spread=0.5, noise=0.003,
                                  lo=90, hi=100),
    "mkt_closed_entities": Spec("count", 310, 0.03, "new_entities", "urban"),
    "env_aqi_good": Spec("rate", 92.5, 95.5, driver="rural", spread=2.5, noise=0.02,
                         lo=40, hi=100, season_pp="aqi"),
    "env_pm25": Spec("rate", 26.0, 22.5, "pm25", "industry", spread=4.0, noise=0.07, lo=5,
                     hi=150),
    "env_water_good": Spec("rate", 96.0, 99.0, driver="rural", spread=3.0, noise=0.01,
                           lo=50, hi=100, season_pp="water"),
    "env_waste_sorting": Spec("rate", 72.0, 99.0, driver="urban", spread=8.0, noise=0.01,
                              lo=20, hi=100),
    "env_sewage_treatment": Spec("rate", 91.0, 96.5, driver="urban", spread=3.0,
                                 noise=0.005, lo=50, hi=100),
    "env_forest_cover": Spec("rate", 71.5, 72.4, driver="rural", spread=14.0, noise=0.002,
                             lo=15, hi=95),
    "env_complaints": Spec("count", 95, -0.03, "complaints", "industry"),
    "env_energy_intensity_drop": Spec("county", 0),
    "gov_events_received": Spec("count", 1900, 0.04, "events", "pop"),
    "gov_events_closed": Spec("rate", 86.0, 94.0, driver="urban", spread=2.0, noise=0.012,
                              lo=40, hi=100),
    "gov_dispute_resolved": Spec("rate", 96.5, 98.3, driver="flat", spread=0.8, noise=0.006,
                                 lo=60, hi=100),
    "gov_hazard_fixed": Spec("rate", 93.0, 98.2, driver="industry", spread=1.5, noise=0.01,
                             lo=40, hi=100),
    "gov_petitions": Spec("count", 128, -0.06, "complaints", "pop"),
    "gov_criminal_cases": Spec("count", 62, -0.05, "flat", "urban"),
    "gov_traffic_deaths": Spec("count", 3.2, -0.05, "flat", "pop"),
    "gov_fires": Spec("count", 14, -0.02, "fire", "pop"),
    "gov_grid_visits": Spec("flow", 6.8, 0.05, "events", "pop", noise=0.05, epidemic=0.3),
    "gov_work_accidents": Spec("count", 1.8, -0.08, "flat", "industry"),
    "svc_online_rate": Spec("rate", 90.0, 96.0, driver="urban", spread=2.0, noise=0.006,
                            lo=50, hi=100),
    "svc_online_cases": Spec("flow", 1.575, 0.09, "service", "pop", noise=0.04, epidemic=0.2),
    "svc_12345_closed": Spec("county", 0),
    "svc_12345_satisfaction": Spec("county", 0),
    "svc_12345_cases": Spec("count", 1224.6, 0.05, "service", "pop"),
    "svc_family_doctor": Spec("rate", 36.0, 46.0, driver="rural", spread=4.0, noise=0.01,
                              lo=5, hi=100),
    "svc_elderly_beds": Spec("stock", 3200, 0.05, driver="pop", noise=0.0),
    "svc_mobile_cases": Spec("count", 340, 0.35, "service", "urban"),
    "svc_one_network": Spec("county", 0),
    "svc_e_archive": Spec("county", 0),
    "svc_clinic_visits": Spec("flow", 9.5, 0.03, "flat", "rural", noise=0.05, epidemic=0.5),
    "ops_mobile_office": Spec("county", 0),
    "ops_decision_support": Spec("county", 0),
    "ops_data_catalogued": Spec("county", 0),
    "ops_data_collected": Spec("county", 0),
    "ops_data_shared": Spec("county", 0),
    "ops_data_open": Spec("county", 0),
    "ops_security_fixed": Spec("county", 0),
    "ops_video_terminals": Spec("county", 0),
    "ops_grassroots_app": Spec("stock", 497, 0.05, driver="pop", noise=0.0),
    "ops_village_accounts": Spec("stock", 278, 0.01, driver="flat", noise=0.0),
}

# County-only series: (2020 start, 2025 end, noise sd in units, shape).
COUNTY_PATHS: dict[str, tuple[float, float, float]] = {
    "mkt_credit_cover": (62.0, 99.0, 0.6),
    "mkt_mobile_case": (55.0, 91.5, 1.0),
    "mkt_archive_cover": (70.0, 99.5, 0.4),
    "svc_12345_closed": (99.55, 99.82, 0.06),
    "svc_12345_satisfaction": (99.73, 99.86, 0.05),
    "svc_one_network": (48.0, 91.0, 1.2),
    "svc_e_archive": (30.0, 91.0, 1.0),
    "ops_mobile_office": (52.0, 83.0, 1.2),
    "ops_decision_support": (22.0, 81.0, 0.0),
    "ops_data_catalogued": (78.0, 100.0, 0.3),
    "ops_data_collected": (70.0, 99.0, 0.5),
    "ops_data_shared": (55.0, 90.0, 0.8),   # bent below by the target-lag anomaly
    "ops_data_open": (4.0, 26.0, 0.4),
    "ops_security_fixed": (80.0, 93.0, 2.5),
    "ops_video_terminals": (83.0, 176.0, 0.0),
    "env_energy_intensity_drop": (3.4, 3.1, 0.4),
}


@dataclass(frozen=True)
class Anomaly:
    """A problem injected on purpose, with where the alert engine should find it."""
    kind: str
    township: str | None
    indicator: str | None
    periods: tuple[str, ...]
    description: str


def _seasonal_month(end: date) -> date:
    """Where the summer PM2.5 anomaly goes: the latest summer month (June to August) if it lies
    within the last six months, where the anomaly rule looks (ends June … January); otherwise the
    latest month of the warm half-year within them (October for ends in February and March, the
    end itself in April and May), so every end shows it and the alert engine finds it."""
    for back in range(6):
        month = add_months(end, -back)
        if month.month in (6, 7, 8):
            return month
    return next(add_months(end, -back) for back in range(6)
                if 4 <= add_months(end, -back).month <= 10)


def _seasonal_factor(month: int) -> float:
    """How far the seasonal PM2.5 anomaly lifts its month: to about a winter month's level (2.4×
    in summer), so it is abnormal only for its season and stays below the 50 μg/m³ line."""
    return round(min(2.4, 1.5 / SEASON["pm25"][month - 1]), 1)


def anomalies(end: date) -> tuple[Anomaly, ...]:
    """The problems injected into a demo ending at `end`: those of the latest month at `end`, the
    three-month ones over the last three months, the drift over the last twelve, the event burst
    in `end`'s month; the plan-target lags stay on the plan's years (2023 … 2025)."""
    end = end.replace(day=1)
    last = (month_key(end),)
    last3 = tuple(month_key(add_months(end, k)) for k in (-2, -1, 0))
    last12 = tuple(month_key(add_months(end, k)) for k in range(-11, 1))
    pm_month = _seasonal_month(end)
    pm_factor = _seasonal_factor(pm_month.month)
    season = "夏季 " if pm_month.month in (6, 7, 8) else ""
    return (
        Anomaly("spike", "泉溪镇", "mkt_complaints", last,
                "预付卡门店集中闭店，投诉举报量约为正常水平的 4 倍"),
        Anomaly("seasonal_spike", "桐琴镇", "env_pm25", (month_key(pm_month),),
                f"{season}PM2.5 异常升高至同月历史水平的约 {pm_factor} 倍（冬季同样的浓度并不异常）"),
        Anomaly("drop", "柳城畲族镇", "gov_events_closed", last,
                "事件处置完成率由上月约 87% 骤降至 78.2%"),
        Anomaly("drop", "白洋街道", "eco_industry_va", last3,
                "龙头企业停产检修，规上工业增加值较上年同期下降约 35%"),
        Anomaly("drift", "王宅镇", "mkt_food_pass", last12,
                "食品抽检合格率近 12 个月持续下滑，由约 98% 降至约 92%"),
        Anomaly("missing", "三港乡", "gov_hazard_fixed", last3,
                "连续三个月未报送安全生产隐患整改率"),
        Anomaly("missing", "坦洪乡", "svc_online_rate", last,
                f"{end.year}年{end.month}月网办率未报送"),
        Anomaly("target_lag", None, "ops_data_shared",
                tuple(f"{y}-12" for y in (2023, 2024, 2025)),
                "数据共享率自 2023 年起停滞在 75% 左右，2025 年 90% 的目标落空"),
        Anomaly("target_lag", "三港乡", "svc_family_doctor", ("2025-12",),
                "家庭医生签约率多年停滞在 30% 左右，远低于 2025 年 45% 的目标"),
        Anomaly("event_burst", "桃溪镇", None, last,
                f"{end.month} 月集中上报 28 起“企业消防安全隐患”安全生产事件，多数超期未办结"),
    )


def _months(end: date) -> list[tuple[int, int]]:
    out = []
    month = FIRST_MONTH
    while month <= end:
        out.append((month.year, month.month))
        month = add_months(month, 1)
    return out


def _period_months(freq: str, months: list[tuple[int, int]]) -> np.ndarray:
    """Indices into the months at which an indicator of this frequency has a period: only periods
    that have ended by the last month (at 2026-11, 2026 Q3 but not Q4 or the year 2026)."""
    if freq == "month":
        return np.arange(len(months))
    step = 3 if freq == "quarter" else 12
    return np.array([k for k, (_, m) in enumerate(months) if m % step == 0])


def _shares(driver: str) -> np.ndarray:
    pop = np.array([t.population for t in TOWNSHIPS], float)
    if driver == "pop":
        w = pop
    elif driver == "industry":
        w = np.array([t.industry for t in TOWNSHIPS])
    elif driver == "tourism":
        w = np.array([t.tourism for t in TOWNSHIPS])
    elif driver == "urban":
        w = pop * (0.4 + np.array([t.urban for t in TOWNSHIPS]))
    elif driver == "rural":
        w = pop * (1.4 - np.array([t.urban for t in TOWNSHIPS]))
    else:
        w = np.ones(len(TOWNSHIPS))
    return w / w.sum()


def _offsets(driver: str, rng: np.random.Generator) -> np.ndarray:
    """Where each township sits relative to the county mean, in county-spread units (mean 0)."""
    urban = np.array([t.urban for t in TOWNSHIPS])
    industry = np.array([t.industry for t in TOWNSHIPS])
    if driver == "urban":
        base = urban - urban.mean()
    elif driver == "rural":
        base = urban.mean() - urban
    elif driver == "industry":
        base = industry / industry.max() - (industry / industry.max()).mean()
    else:
        base = np.zeros(len(TOWNSHIPS))
    base = base / (np.abs(base).max() or 1.0)
    jitter = rng.normal(0, 0.35, len(TOWNSHIPS))
    out = base + jitter
    return out - out.mean()


class _Generator:
    def __init__(self, seed: int, end: date):
        self.seed = seed
        self.rng = np.random.default_rng(seed)
        self.months = _months(end)
        self.t = np.arange(len(self.months)) / 12.0  # years since 2020-01
        self.moy = np.array([m for _, m in self.months]) - 1
        self.pop = np.array([t.population for t in TOWNSHIPS], float)
        # Share of the way from 2020 to the plan's 2025 level; 1 from 2025-12 on.
        self.plan_frac = np.clip(self.t / (PLAN_MONTHS / 12.0 - 1 / 12), 0, 1)
        self.after_plan = np.maximum(self.t - (PLAN_MONTHS - 1) / 12.0, 0)  # years after 2025-12

    def later(self, code: str, shape: tuple[int, ...]) -> np.ndarray:
        """Standard noise for the months after the plan period, (months, …), from the indicator's
        own stream, drawn months first: a later end only appends draws, so the months two builds
        share keep their values. Bounded to ±1.5 σ: a demo built in any month then raises alerts
        for the injected problems only, never for a chance outlier the presenter cannot explain
        (about one such alert per half-year of unbounded Poisson counts)."""
        rng = np.random.default_rng([self.seed, zlib.crc32(code.encode("utf-8"))])
        return np.clip(rng.normal(0, 1, shape), -LATER_NOISE_BOUND, LATER_NOISE_BOUND)

    def normal(self, code: str, sd: float, rows: int | None) -> np.ndarray:
        """Noise over all months, (rows, months) or (months,): the plan months from the shared
        stream exactly as the six-year demo drew them, the rest from `later`."""
        after = len(self.months) - PLAN_MONTHS
        if rows is None:
            return np.concatenate([self.rng.normal(0, sd, PLAN_MONTHS),
                                   sd * self.later(code, (after,))])
        return np.hstack([self.rng.normal(0, sd, (rows, PLAN_MONTHS)),
                          sd * self.later(code, (after, rows)).T])

    def township_values(self, ind: Indicator, spec: Spec) -> np.ndarray:
        """(townships, months) before sampling at the indicator's frequency."""
        rng = self.rng
        n = len(TOWNSHIPS)
        season = np.array(SEASON[spec.season])[self.moy]
        epi = _epidemic(self.months, spec.epidemic)
        if spec.kind in ("flow", "count"):
            shares = _shares(spec.driver)
            tilt = rng.normal(0, 0.02, n)  # townships grow at slightly different rates
            growth = (1 + spec.growth + tilt[:, None]) ** self.t[None, :]
            mean = spec.level * shares[:, None] * growth * (season * epi)[None, :]
            if ind.frequency == "quarter":
                mean = mean * 3
            if spec.kind == "count":
                later = mean[:, PLAN_MONTHS:]  # Poisson-like: sd √mean, bounded as in `later`
                later = np.round(later + np.sqrt(later) * self.later(ind.code, later.T.shape).T)
                return np.hstack([rng.poisson(mean[:, :PLAN_MONTHS]),
                                  np.maximum(later, 0)]).astype(float)
            return mean * np.exp(self.normal(ind.code, spec.noise, n))
        if spec.kind == "stock":
            shares = _shares(spec.driver)
            growth = (1 + spec.growth) ** self.t
            steps = 1 + self.normal(ind.code, spec.noise, n)
            return spec.level * shares[:, None] * growth[None, :] * steps
        if spec.kind == "rate":
            # Saturating approach: early years improve faster than later ones; the path arrives
            # at its 2025 level with no slope, so levelling off there shows no kink.
            path = spec.level + (spec.growth - spec.level) * (1 - (1 - self.plan_frac) ** 1.6)
            path = path * (1 + spec.after) ** self.after_plan
            offsets = _offsets(spec.driver, rng) * spec.spread
            values = path[None, :] + offsets[:, None]
            if spec.season_pp:
                values = values + np.array(SEASON_PP[spec.season_pp])[self.moy][None, :]
            values = values * season[None, :]
            noise = self.normal(ind.code, spec.noise, n) * np.abs(values)
            return values + noise
        raise ValueError(spec.kind)

    def county_values(self, code: str) -> np.ndarray:
        start, end, sd = COUNTY_PATHS[code]
        path = start + (end - start) * (1 - (1 - self.plan_frac) ** 1.5)
        return path + self.normal(code, sd, None)

    def project_progress(self) -> np.ndarray:
        """Cumulative share of the annual key-project plan completed by each month."""
        noise = np.concatenate([[self.rng.normal(0, 0.03) for _ in range(PLAN_MONTHS)],
                                0.03 * self.later("eco_project_progress",
                                                  (len(self.months) - PLAN_MONTHS,))])
        return np.array([min(100.0 * (m / 12) ** 0.9 * (1 + noise[k]), 112.0)
                         for k, (_, m) in enumerate(self.months)])


def _clip_round(values: np.ndarray, ind: Indicator, spec: Spec) -> np.ndarray:
    if ind.unit == "%" or spec.kind == "rate":
        values = np.clip(values, spec.lo, spec.hi)
    values = np.maximum(values, 0)
    return np.round(values, ind.decimals)


def _aggregate(values: np.ndarray, ind: Indicator, pop: np.ndarray,
               present: np.ndarray) -> np.ndarray:
    """County values from township values (townships × periods), honouring missing reports."""
    v = np.where(present, values, 0.0)
    if ind.aggregation == "sum":
        return v.sum(axis=0)
    weights = (pop[:, None] if ind.aggregation == "pop_mean" else np.ones_like(pop)[:, None])
    w = np.where(present, weights, 0.0)
    return (v * w).sum(axis=0) / w.sum(axis=0)


def _baseline_fix(values: np.ndarray, ind: Indicator, pidx: np.ndarray, months, pop):
    """Shift or scale so the 2020 county figure equals the plan's real baseline."""
    if ind.baseline_value is None or ind.baseline_year != 2020 or ind.county_only:
        return values
    in_2020 = np.array([months[k][0] == 2020 for k in pidx])
    present = np.ones_like(values, bool)
    county = _aggregate(values, ind, pop, present)
    # The 2020 figure as the plan states it (core.plan.annual_basis, which judges the targets).
    if annual_basis(ind) == YEAR_END:  # a level: the 2020 figure is the year-end level
        return values * (ind.baseline_value / county[in_2020][-1])
    if annual_basis(ind) == TOTAL:
        current = county[in_2020].sum()
        return values * (ind.baseline_value / current)
    current = county[in_2020].mean()
    if ind.unit == "%":
        return values + (ind.baseline_value - current)
    return values * (ind.baseline_value / current)


def _settle_rounding(values: np.ndarray, ind: Indicator, pidx: np.ndarray, months):
    """Rounding each township's value can leave a 2020 county total a few units off the plan's
    real figure; put the remainder on the largest township's December so the total is exact."""
    if ind.aggregation != "sum" or ind.baseline_value is None or ind.baseline_year != 2020:
        return values
    cols = [j for j, k in enumerate(pidx) if months[k][0] == 2020]
    if annual_basis(ind) == YEAR_END:
        cols = cols[-1:]
    residual = round(ind.baseline_value - values[:, cols].sum(), ind.decimals)
    i = int(np.argmax(values[:, cols[-1]]))
    values[i, cols[-1]] = round(values[i, cols[-1]] + residual, ind.decimals)
    return values


def _inject(code: str, values: np.ndarray, pidx: np.ndarray, months,
            injected: tuple[Anomaly, ...]) -> np.ndarray:
    """Apply the documented anomalies that change township values (townships × periods)."""
    names = [t.name for t in TOWNSHIPS]
    labels = [f"{months[k][0]}-{months[k][1]:02d}" for k in pidx]
    for a in injected:
        if a.indicator != code or a.township is None or a.kind in ("missing", "event_burst"):
            continue
        i = names.index(a.township)
        cols = [labels.index(p) for p in a.periods]
        if a.kind == "spike":
            values[i, cols] *= 4.0
        elif a.kind == "seasonal_spike":
            for j, period in zip(cols, a.periods):
                values[i, j] = values[i, j] * _seasonal_factor(int(period[5:]))
        elif a.kind == "drop" and code == "gov_events_closed":
            prev = cols[0] - 1
            values[i, prev] = 87.3
            values[i, cols] = 78.2
        elif a.kind == "drop":
            values[i, cols] *= 0.63
        elif a.kind == "drift":
            start = values[i, cols[0] - 1]
            values[i, cols] = np.linspace(start - 0.5, 92.0, len(cols)) + np.array(
                [0.2, -0.3, 0.1, 0.3, -0.2, 0.0, 0.2, -0.1, 0.1, -0.2, 0.2, 0.0])[:len(cols)]
        elif a.kind == "target_lag":
            # Stagnation: the township stays near 30% while the county moves on (centred on
            # the plan years, so a later end leaves them as they were).
            plan = values[i, pidx < PLAN_MONTHS]
            values[i, :] = 30.0 + (values[i, :] - plan.mean()) * 0.15
    return values


def _missing_mask(code: str, shape, pidx, months, injected: tuple[Anomaly, ...]) -> np.ndarray:
    present = np.ones(shape, bool)
    names = [t.name for t in TOWNSHIPS]
    labels = [f"{months[k][0]}-{months[k][1]:02d}" for k in pidx]
    for a in injected:
        if a.kind == "missing" and a.indicator == code:
            i = names.index(a.township)
            for p in a.periods:
                present[i, labels.index(p)] = False
    return present


def _bend_county_target_lag(code: str, values: np.ndarray, months,
                            injected: tuple[Anomaly, ...]) -> np.ndarray:
    for a in injected:
        if a.kind == "target_lag" and a.township is None and a.indicator == code:
            for k, (y, m) in enumerate(months):
                if y >= 2023:
                    values[k] = min(values[k], 74.5 + 0.05 * (k - 36) + (0.4 if m % 2 else -0.3))
    return values


def generate_observations(seed: int, end: date, clean: bool = False) -> pa.Table:
    """Every fact of the demo up to `end`; `clean`: without the injected anomalies (the city
    demo shapes its other counties on such a run)."""
    gen = _Generator(seed, end)
    injected = () if clean else anomalies(end)
    months = gen.months
    period_dates = np.array([date(y, m, 1) for y, m in months], "datetime64[D]")
    codes = list(TOWNSHIP_CODES.values())
    cols: dict[str, list] = {"indicator": [], "period": [], "region": [], "value": []}

    def emit(code: str, region_codes: list[str], values: np.ndarray, pidx: np.ndarray,
             present: np.ndarray) -> None:
        rows, cells = np.nonzero(present)     # region by region, each in period order
        cols["indicator"].append(np.full(len(rows), code, object))
        cols["period"].append(period_dates[np.asarray(pidx)[cells]])
        cols["region"].append(np.asarray(region_codes, object)[rows])
        cols["value"].append(np.asarray(values, np.float64)[rows, cells])

    for ind in DEMO_CATALOGUE:
        spec = SPECS[ind.code]
        pidx = _period_months(ind.frequency, months)
        if ind.county_only:
            if ind.code == "eco_project_progress":
                series = gen.project_progress()
            else:
                series = _bend_county_target_lag(ind.code, gen.county_values(ind.code), months,
                                                 injected)
            series = series[pidx]
            if ind.baseline_value is not None and ind.baseline_year == 2020:
                in_2020 = np.array([months[k][0] == 2020 for k in pidx])
                # Rates compare as the year's average, levels (个) as the year-end figure.
                ref = series[in_2020].mean() if annual_basis(ind) == MEAN else series[in_2020][-1]
                series = series + (ind.baseline_value - ref)
            series = np.round(np.clip(series, 0, 100 if ind.unit == "%" else None),
                              ind.decimals)
            emit(ind.code, [COUNTY_CODE], series[None, :], pidx, np.ones((1, len(pidx)), bool))
            continue
        values = gen.township_values(ind, spec)[:, pidx]
        values = _baseline_fix(values, ind, pidx, months, gen.pop)
        values = _inject(ind.code, values, pidx, months, injected)
        values = _clip_round(values, ind, spec)
        values = _settle_rounding(values, ind, pidx, months)
        present = _missing_mask(ind.code, values.shape, pidx, months, injected)
        county = np.round(_aggregate(values, ind, gen.pop, present), ind.decimals)
        emit(ind.code, codes, values, pidx, present)
        emit(ind.code, [COUNTY_CODE], county[None, :], pidx, np.ones((1, len(pidx)), bool))
    return pa.table({
        "indicator": pa.array(np.concatenate(cols["indicator"]), pa.string()),
        "period": pa.array(np.concatenate(cols["period"]), pa.date32()),
        "region": pa.array(np.concatenate(cols["region"]), pa.string()),
        "value": pa.array(np.concatenate(cols["value"]), pa.float64()),
    })


# --- events ------------------------------------------------------------------------------------
EVENT_SOURCES = {
    "基层治理四平台": (0.55, 7, {
        "环境卫生": ["{p}垃圾未及时清运，群众反映异味较大", "{p}河道漂浮物较多，需安排保洁"],
        "违章搭建": ["{p}发现疑似违章搭建，已拍照上报", "{p}有农户擅自加层建房"],
        "矛盾纠纷": ["{p}邻里因宅基地界址发生纠纷", "{p}土地流转租金纠纷，需调解"],
        "道路设施": ["{p}路灯损坏，影响夜间出行", "{p}路面塌陷，存在安全隐患"],
        "消防隐患": ["{p}电动自行车楼道充电", "{p}出租房消防通道堵塞"],
    }),
    "12345": (0.35, 5, {
        "咨询求助": ["咨询{p}社保缴费办理流程", "咨询{p}不动产登记所需材料"],
        "市场监管投诉": ["投诉{p}商户价格标示不清", "反映{p}餐饮店卫生条件差"],
        "供水供电": ["反映{p}停水未提前通知", "{p}电压不稳，家电无法使用"],
        "交通出行": ["建议{p}公交增加班次", "反映{p}路口红绿灯故障"],
        "噪声扰民": ["反映{p}夜间施工噪声扰民", "{p}广场舞音响音量过大"],
    }),
    "安全生产": (0.10, 15, {
        "企业消防安全隐患": ["{p}企业灭火器过期、疏散通道堵塞", "{p}厂房违规住人"],
        "危化品": ["{p}危化品储存不规范", "{p}加油站卸油作业不规范"],
        "建筑施工": ["{p}工地高处作业未系安全带", "{p}脚手架搭设不规范"],
        "山塘水库": ["{p}山塘坝体渗漏", "{p}水库溢洪道堵塞"],
        "地质灾害": ["{p}地质灾害隐患点出现裂缝", "{p}边坡落石"],
    }),
}
PLACES = ["集镇主街", "村委会附近", "工业功能区", "溪边游步道", "农贸市场", "学校周边",
          "新村小区", "老街", "县道沿线", "景区停车场"]


def generate_events(seed: int, geometries: dict[str, object], end: date,
                    clean: bool = False) -> pa.Table:
    """About 4,200 events over the 24 months up to the end of `end`'s month, and the burst
    (not when `clean`)."""
    rng = np.random.default_rng(seed + 1)
    days_in_end = calendar.monthrange(end.year, end.month)[1]
    as_of_end = datetime(end.year, end.month, days_in_end, 18, 0)
    first = add_months(end, -23)
    start = datetime(first.year, first.month, 1)
    span_s = (as_of_end - start).total_seconds()
    names = [t.name for t in TOWNSHIPS]
    weights = _shares("pop")
    rows: dict[str, list] = {k: [] for k in (
        "id", "region", "source", "category", "summary", "reported_at", "deadline_at",
        "closed_at", "status", "lon", "lat")}
    sources = list(EVENT_SOURCES)
    source_p = np.array([EVENT_SOURCES[s][0] for s in sources])

    def add(town: str, source: str, category: str, reported: datetime,
            days_to_close: float | None) -> None:
        limit_days = EVENT_SOURCES[source][1]
        deadline = reported + timedelta(days=limit_days)
        closed = None if days_to_close is None else reported + timedelta(days=days_to_close)
        if closed is not None and closed > as_of_end:
            closed = None
        if closed is not None:
            status = "已办结"
        elif deadline < as_of_end:
            status = "已超期"
        else:
            status = "处置中"
        template = EVENT_SOURCES[source][2][category]
        summary = template[int(rng.integers(len(template)))].format(
            p=PLACES[int(rng.integers(len(PLACES)))])
        lon, lat = geo.random_points_in(geometries[town], 1, rng)[0]
        rows["id"].append(f"EV{reported:%Y%m%d}{len(rows['id']):05d}")
        rows["region"].append(TOWNSHIP_CODES[town])
        rows["source"].append(source)
        rows["category"].append(category)
        rows["summary"].append(f"{town}{summary}")
        rows["reported_at"].append(reported)
        rows["deadline_at"].append(deadline)
        rows["closed_at"].append(closed)
        rows["status"].append(status)
        rows["lon"].append(round(float(lon), 6))
        rows["lat"].append(round(float(lat), 6))

    n = 4200
    offsets = np.sort(rng.uniform(0, span_s, n))
    for off in offsets:
        reported = start + timedelta(seconds=float(off))
        reported = reported.replace(second=0, microsecond=0)
        town = names[rng.choice(len(names), p=weights)]
        source = sources[rng.choice(len(sources), p=source_p / source_p.sum())]
        category = list(EVENT_SOURCES[source][2])[int(rng.integers(5))]
        limit = EVENT_SOURCES[source][1]
        # Most events close well within their limit; a few drag on past it.
        days = float(rng.lognormal(np.log(limit * 0.3), 0.6))
        if rng.random() < 0.02:
            days = None
        add(town, source, category, reported, days)
    # The burst: 桃溪镇 fire-safety hazards reported in the last month, most left open and, with
    # 15 days to act, reported early enough to be overdue by the month's end.
    for k in range(0 if clean else 28):
        reported = datetime(end.year, end.month, 1, 9) + timedelta(
            hours=float(rng.uniform(0, (days_in_end - 15) * 24)))
        days = float(rng.uniform(2, 6)) if k % 5 == 0 else None
        add("桃溪镇", "安全生产", "企业消防安全隐患", reported.replace(second=0, microsecond=0),
            days)
    order = np.argsort(np.array(rows["reported_at"], dtype="datetime64[s]"), kind="stable")
    table = schema.events_table(rows)
    return table.take(pa.array(order))


# --- regions ------------------------------------------------------------------------------------
def _area_km2(geom) -> float:
    """Area on the ground, via a local equal-area-enough projection (county-sized extents)."""
    lat0 = shapely.centroid(geom).y
    k = np.cos(np.radians(lat0))
    projected = shapely.transform(geom, lambda xy: xy * np.array([111.32 * k, 110.57]))
    return float(projected.area)


def regions_table(data_dir: Path, seed: int) -> tuple[pa.Table, dict[str, object]]:
    outline = geo.load_outline(data_dir / "wuyi_outline.geojson")
    geometries = geo.township_geometries(data_dir)
    rows: dict[str, list] = {k: [] for k in (
        "code", "name", "name_en", "level", "kind", "parent", "geometry", "area_km2",
        "label_lon", "label_lat", "population", "schematic", "sort_order")}

    def add(code, name, name_en, level, kind, parent, geom, population, order):
        label = geo.label_point(geom)
        rows["code"].append(code)
        rows["name"].append(name)
        rows["name_en"].append(name_en)
        rows["level"].append(level)
        rows["kind"].append(kind)
        rows["parent"].append(parent)
        rows["geometry"].append(shapely.to_wkb(geom))
        rows["area_km2"].append(round(_area_km2(geom), 2))
        rows["label_lon"].append(round(label.x, 6))
        rows["label_lat"].append(round(label.y, 6))
        rows["population"].append(float(population))
        rows["schematic"].append(level == "township")
        rows["sort_order"].append(order)

    add(COUNTY_CODE, COUNTY_NAME, "Wuyi County", "county", "县", None, outline,
        sum(t.population for t in TOWNSHIPS), 0)
    for order, t in enumerate(TOWNSHIPS, start=1):
        add(TOWNSHIP_CODES[t.name], t.name, t.name_en, "township", t.kind, COUNTY_CODE,
            geometries[t.name], t.population, order)
    table = pa.table({
        "code": pa.array(rows["code"], pa.string()),
        "name": pa.array(rows["name"], pa.string()),
        "name_en": pa.array(rows["name_en"], pa.string()),
        "level": pa.array(rows["level"], pa.string()),
        "kind": pa.array(rows["kind"], pa.string()),
        "parent": pa.array(rows["parent"], pa.string()),
        "geometry": pa.array(rows["geometry"], pa.binary()),
        "area_km2": pa.array(rows["area_km2"], pa.float64()),
        "label_lon": pa.array(rows["label_lon"], pa.float64()),
        "label_lat": pa.array(rows["label_lat"], pa.float64()),
        "population": pa.array(rows["population"], pa.float64()),
        "schematic": pa.array(rows["schematic"], pa.bool_()),
        "sort_order": pa.array(rows["sort_order"], pa.int32()),
    })
    return table, geometries


def indicators_table() -> pa.Table:
    rows = [dict(ind.as_row(), sort_order=k) for k, ind in enumerate(DEMO_CATALOGUE)]
    return pa.Table.from_pylist(rows)


def write_warehouse(con, seed: int, data_dir: Path, end: date = PLAN_END, fixed: bool = True,
                    progress: Callable[[str], None] = lambda step: None) -> None:
    """Fill an empty DuckDB connection with the demo warehouse, its data running to `end`;
    `fixed` says the end was chosen (else it was the last finished month when built)."""
    schema.create_schema(con)
    progress("行政区划与示意边界")
    regions, geometries = regions_table(data_dir, seed)
    schema.insert(con, "regions", regions)
    progress("指标目录")
    schema.insert(con, "indicators", indicators_table())
    progress("指标数据")
    schema.insert(con, "staging_observations", generate_observations(seed, end))
    schema.finalize(con)
    progress("事件记录")
    schema.insert(con, "events", generate_events(seed, geometries, end))
    meta = {
        "county_code": COUNTY_CODE,
        "county_name": COUNTY_NAME,
        "city_name": CITY_NAME,
        "city_name_en": CITY_NAME_EN,
        "title": f"{COUNTY_NAME}城市大脑 · 数字驾驶舱",
        "as_of": month_key(end),
        "source": "demo",
        "seed": str(seed),
        "demo_end": month_key(end),
        "demo_end_rule": "fixed" if fixed else "last_finished_month",
        "boundaries": "schematic",
        "domains": json.dumps(DOMAINS, ensure_ascii=False),
        "built_at": datetime.now().isoformat(timespec="seconds"),
    }
    con.executemany("INSERT INTO meta VALUES (?, ?)", list(meta.items()))


def build_demo(out: Path, seed: int = DEFAULT_SEED, end: date | None = None,
               data_dir: Path | None = None,
               progress: Callable[[str], None] = lambda step: None,
               today: date | None = None) -> Manifest:
    """Build the demo as a new snapshot of the warehouse at `out` and publish it.

    `end` is the last month of data (2025-12 or later); None means the last month that has ended
    before `today` (default: the clock's), but never before 2025-12, the plan's target year."""
    from ..paths import data_dir as default_data_dir

    fixed = end is not None
    end = end.replace(day=1) if fixed else default_end(today)
    if end < PLAN_END:
        raise ValueError(f"演示数据至少要到 {month_key(PLAN_END)}（规划目标年），"
                         f"不能止于 {month_key(end)}")
    store = SnapshotStore(out)
    rule = "fixed" if fixed else "auto"
    with store.writer(note=f"demo seed={seed} end={month_key(end)} {rule}") as con:
        write_warehouse(con, seed, data_dir or default_data_dir(), end, fixed, progress)
    manifest = store.current()
    assert manifest is not None
    return manifest
