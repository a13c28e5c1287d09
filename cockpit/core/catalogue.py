"""The indicator catalogue: what each indicator means, how it is measured and who owns it.

The demo warehouse is built from `DEMO_CATALOGUE`; a real deployment's warehouse carries its own
catalogue in the `indicators` table, read back through `Indicator.from_row`.
"""
from __future__ import annotations

from dataclasses import asdict, dataclass, fields, replace

# The six domains of the source plans, in display order: code -> (zh_CN, en).
DOMAINS: dict[str, tuple[str, str]] = {
    "economy": ("经济运行", "Economy"),
    "market": ("市场监管", "Market regulation"),
    "environment": ("生态环境", "Environment"),
    "governance": ("社会治理", "Social governance"),
    "service": ("公共服务", "Public service"),
    "government": ("政务运行", "Government operation"),
}

POLARITIES = ("higher", "lower", "neutral")
FREQUENCIES = ("month", "quarter", "year")
# sum: township values add up to the county; mean: plain mean of townships;
# pop_mean: population-weighted mean; county_only: reported for the county alone.
AGGREGATIONS = ("sum", "mean", "pop_mean", "county_only")
SENSITIVITIES = ("public", "internal")


@dataclass(frozen=True)
class Indicator:
    code: str
    name: str
    name_en: str
    domain: str
    unit: str
    polarity: str
    frequency: str
    aggregation: str
    department: str
    definition: str
    sensitivity: str = "public"
    baseline_value: float | None = None
    baseline_year: int | None = None
    target_value: float | None = None
    target_year: int | None = None
    decimals: int = 1
    headline: bool = False  # shown on the domain's KPI cards
    plan_kpi: int | None = None  # row number in 表1 of the Wuyi digital-government plan
    # How a year's figure is formed where the usual rule (core.plan.annual_basis) is wrong:
    # "year_end" for levels (在册, 床位, 终端), "ytd" for figures accumulated from January.
    annual: str | None = None
    # The definition in English ("" where the catalogue has none: English readers then see the
    # Chinese). Warehouses built before it have no such column and read back as "".
    definition_en: str = ""

    def definition_in(self, lang: str | None) -> str:
        """The definition (口径) in the UI's language, Chinese where there is no English."""
        return (self.definition_en or self.definition) if lang == "en" else self.definition

    @property
    def is_rate(self) -> bool:
        return self.unit == "%"

    @property
    def county_only(self) -> bool:
        return self.aggregation == "county_only"

    def as_row(self) -> dict:
        return asdict(self)

    @classmethod
    def from_row(cls, row: dict) -> "Indicator":
        names = {f.name for f in fields(cls)}
        return cls(**{k: v for k, v in row.items() if k in names})


def _i(code, name, name_en, domain, unit, polarity, frequency, aggregation, department,
       definition, **kw) -> Indicator:
    return Indicator(code, name, name_en, domain, unit, polarity, frequency, aggregation,
                     department, definition, **kw)


_STATS = "县统计局"
_DRC = "县发展和改革局"
_ECON = "县经济商务局"
_AMR = "县市场监督管理局"
_ENF = "县综合行政执法局"
_ENV = "金华市生态环境局武义分局"
_GOVN = "县社会治理中心"
_EMG = "县应急管理局"
_PET = "县信访局"
_POL = "县公安局"
_SVC = "县行政服务中心"
_HLT = "县卫生健康局"
_CIV = "县民政局"
_TOUR = "县文化和广电旅游体育局"
_BIG = "县大数据发展中心"
_FIN = "县财政局"
_GRID = "国网武义县供电公司"
_OFFICE = "县政府办公室"
_AGR = "县农业农村局"
_FOR = "县自然资源和规划局"

DEMO_CATALOGUE: tuple[Indicator, ...] = (
    # --- 经济运行 -------------------------------------------------------------------------
    _i("eco_industry_va", "规上工业增加值", "Value added of large industry", "economy", "亿元",
       "higher", "month", "sum", _STATS,
       "规模以上工业企业（年主营业务收入2000万元及以上）当月工业增加值，现价",
       definition_en="Industrial value added in the month by enterprises above designated size "
                     "(annual main business revenue of 20 million yuan or more), at current "
                     "prices",
       decimals=2, headline=True),
    _i("eco_tax_per_mu", "亩均税收", "Tax per mu of industrial land", "economy", "万元/亩",
       "higher", "year", "mean", _ECON,
       "规上工业企业年度实缴税收除以企业实际占用土地面积（亩），亩均效益综合评价口径",
       definition_en="Annual tax paid by industrial enterprises above designated size divided by "
                     "the land they occupy (mu), as in the per-mu efficiency evaluation",
       baseline_value=24.6, baseline_year=2020, target_value=32.0, target_year=2025,
       headline=True),
    _i("eco_fai", "固定资产投资", "Fixed-asset investment", "economy", "亿元", "higher",
       "month", "sum", _DRC, "当月完成的500万元及以上固定资产投资项目投资额",
       definition_en="Investment completed in the month by fixed-asset projects of 5 million "
                     "yuan or more",
       decimals=2, headline=True),
    _i("eco_retail", "社会消费品零售总额", "Retail sales of consumer goods", "economy", "亿元",
       "higher", "month", "sum", _STATS, "当月批发零售、住宿餐饮企业及个体户的消费品零售额",
       definition_en="Retail sales of consumer goods in the month by wholesale, retail, "
                     "accommodation and catering businesses and individual traders",
       decimals=2, headline=True),
    _i("eco_new_entities", "新设市场主体", "New market entities", "economy", "户", "higher",
       "month", "sum", _AMR, "当月新登记注册的企业、个体工商户和农民专业合作社户数",
       definition_en="Enterprises, individual businesses and farmers' cooperatives newly "
                     "registered in the month",
       decimals=0, headline=True),
    _i("eco_gdp", "地区生产总值", "Gross domestic product", "economy", "亿元", "higher",
       "quarter", "sum", _STATS, "当季地区生产总值（GDP），现价，乡镇为统计部门核算的参考值",
       definition_en="Gross domestic product of the quarter at current prices; for townships, a "
                     "reference figure estimated by the statistics office",
       decimals=2),
    _i("eco_fiscal_revenue", "一般公共预算收入", "General public budget revenue", "economy",
       "亿元", "higher", "month", "sum", _FIN, "当月一般公共预算收入入库数",
       definition_en="General public budget revenue paid into the treasury in the month",
       decimals=2),
    _i("eco_industry_power", "工业用电量", "Industrial electricity use", "economy", "万千瓦时",
       "higher", "month", "sum", _GRID, "当月工业用户售电量，反映工业生产活跃度",
       definition_en="Electricity sold to industrial customers in the month, a measure of "
                     "industrial activity",
       decimals=0),
    _i("eco_tourists", "旅游接待人次", "Tourist visits", "economy", "万人次", "higher", "month",
       "sum", _TOUR, "当月接待国内外游客人次，含温泉、景区及乡村旅游",
       definition_en="Domestic and foreign tourist visits received in the month, including hot "
                     "springs, scenic areas and rural tourism",
       decimals=1),
    _i("eco_exports", "出口总额", "Exports", "economy", "亿元", "higher", "month", "sum", _ECON,
       "当月货物出口总额，人民币计价",
       definition_en="Goods exported in the month, in yuan",
       decimals=2),
    _i("eco_rural_income", "农村居民人均可支配收入", "Rural disposable income per capita",
       "economy", "元", "higher", "year", "pop_mean", _STATS,
       "年度农村常住居民人均可支配收入，抽样调查口径",
       definition_en="Disposable income per rural resident in the year, from the household "
                     "sample survey",
       decimals=0,
       baseline_value=24886, baseline_year=2020, target_value=34500, target_year=2025),
    _i("eco_project_progress", "重点项目投资完成率", "Key project investment completion",
       "economy", "%", "higher", "month", "county_only", _DRC,
       "省市县重点建设项目年度累计完成投资占年度计划投资的比例",
       definition_en="Investment completed so far this year by provincial, city and county key "
                     "projects, as a share of the year's planned investment",
       target_value=100.0,
       target_year=2025, annual="ytd"),
    # --- 市场监管 -------------------------------------------------------------------------
    _i("mkt_double_random", "“双随机、一公开”覆盖率", "Random inspection coverage", "market",
       "%", "higher", "month", "mean", _AMR,
       "“双随机、一公开”监管方式在所有行政检查事项中的占比",
       definition_en="Share of all administrative inspections made by the \"double random, one "
                     "public\" method (inspectors and targets drawn at random, results made "
                     "public)",
       baseline_value=28.2,
       baseline_year=2020, target_value=60.0, target_year=2025, headline=True, plan_kpi=7),
    _i("mkt_food_pass", "食品抽检合格率", "Food sampling pass rate", "market", "%", "higher",
       "month", "mean", _AMR, "当月食品安全监督抽检合格批次占抽检总批次的比例",
       definition_en="Food safety sampling batches that passed in the month, as a share of all "
                     "batches sampled",
       target_value=98.0, target_year=2025, headline=True),
    _i("mkt_complaints", "投诉举报量", "Consumer complaints and reports", "market", "件",
       "lower", "month", "sum", _AMR, "当月12315等渠道受理的消费投诉与举报件数",
       definition_en="Consumer complaints and reports received in the month through 12315 and "
                     "other channels",
       decimals=0, headline=True),
    _i("mkt_credit_cover", "信用监管覆盖率", "Credit supervision coverage", "market", "%",
       "higher", "month", "county_only", _AMR, "信用监管体系覆盖重点行业的比例",
       definition_en="Share of key industries covered by credit-based supervision",
       baseline_year=2020, target_value=100.0, target_year=2025, headline=True, plan_kpi=8),
    _i("mkt_mobile_enforce", "掌上执法率", "Mobile enforcement rate", "market", "%", "higher",
       "month", "mean", _ENF, "现场执法应用“浙政钉”掌上执法的比例",
       definition_en="Share of on-site enforcement done on mobile devices with the Zhezhengding "
                     "app",
       baseline_year=2020,
       target_value=95.0, target_year=2025, headline=True, plan_kpi=5),
    _i("mkt_mobile_case", "掌上办案率", "Mobile case handling rate", "market", "%", "higher",
       "month", "county_only", _ENF, "简易处罚实现掌上办案的比例",
       definition_en="Share of simple penalty cases handled on mobile devices",
       baseline_year=2020,
       target_value=90.0, target_year=2025, plan_kpi=6),
    _i("mkt_archive_cover", "监管档案覆盖率", "Supervision record coverage", "market", "%",
       "higher", "quarter", "county_only", _AMR, "监管档案覆盖在册市场主体的比例",
       definition_en="Share of registered market entities with a supervision record",
       baseline_year=2020, target_value=100.0, target_year=2025, plan_kpi=9),
    _i("mkt_entities_total", "在册市场主体", "Registered market entities", "market", "万户",
       "higher", "month", "sum", _AMR, "月末在册企业、个体工商户和农民专业合作社总数",
       definition_en="Enterprises, individual businesses and farmers' cooperatives on the "
                     "register at the end of the month",
       decimals=2, annual="year_end"),
    _i("mkt_special_equipment", "特种设备定期检验率", "Special equipment inspection rate",
       "market", "%", "higher", "month", "mean", _AMR,
       "按期完成定期检验的在用特种设备台数占应检台数的比例",
       definition_en="Special equipment in use that passed its periodic inspection on time, as a "
                     "share of the equipment due for inspection",
       target_value=99.0,
       target_year=2025),
    _i("mkt_closed_entities", "注销市场主体", "Deregistered market entities", "market", "户",
       "neutral", "month", "sum", _AMR, "当月注销登记的市场主体户数",
       definition_en="Market entities deregistered in the month",
       decimals=0),
    # --- 生态环境 -------------------------------------------------------------------------
    _i("env_aqi_good", "AQI优良天数比例", "Share of good-air days", "environment", "%",
       "higher", "month", "mean", _ENV, "当月空气质量指数（AQI）≤100的天数占有效监测天数的比例",
       definition_en="Days in the month with an air quality index (AQI) of 100 or less, as a "
                     "share of valid monitoring days",
       target_value=95.0, target_year=2025, headline=True),
    _i("env_pm25", "PM2.5平均浓度", "PM2.5 mean concentration", "environment", "μg/m³",
       "lower", "month", "mean", _ENV, "当月细颗粒物（PM2.5）日均浓度的算术平均值",
       definition_en="Arithmetic mean of the month's daily mean concentrations of fine "
                     "particulate matter (PM2.5)",
       baseline_value=26.0, baseline_year=2020, target_value=24.0, target_year=2025,
       headline=True),
    _i("env_water_good", "地表水Ⅲ类以上断面比例", "Surface water at class III or better",
       "environment", "%", "higher", "month", "mean", _ENV,
       "水质达到或优于地表水Ⅲ类标准的监测断面占全部断面的比例",
       definition_en="Monitored sections whose water meets surface water class III or better, as "
                     "a share of all sections",
       target_value=100.0,
       target_year=2025, headline=True),
    _i("env_waste_sorting", "生活垃圾分类覆盖率", "Household waste sorting coverage",
       "environment", "%", "higher", "month", "pop_mean", _ENF,
       "实行生活垃圾分类的行政村（社区）占全部行政村（社区）的比例",
       definition_en="Administrative villages (communities) that sort household waste, as a "
                     "share of all villages (communities)",
       target_value=100.0,
       target_year=2025, headline=True),
    _i("env_sewage_treatment", "污水处理率", "Sewage treatment rate", "environment", "%",
       "higher", "quarter", "pop_mean", _ENF, "经处理的生活污水量占污水排放总量的比例",
       definition_en="Domestic sewage treated as a share of all sewage discharged",
       target_value=97.0, target_year=2025),
    _i("env_forest_cover", "森林覆盖率", "Forest cover", "environment", "%", "higher", "year",
       "mean", _FOR, "森林面积占土地总面积的比例（年度森林资源监测口径）",
       definition_en="Forest area as a share of total land area (annual forest resource "
                     "monitoring)"),
    _i("env_complaints", "环境信访投诉", "Environmental complaints", "environment", "件",
       "lower", "month", "sum", _ENV, "当月受理的生态环境类信访、投诉件数",
       definition_en="Environmental petitions and complaints received in the month",
       decimals=0),
    _i("env_energy_intensity_drop", "单位GDP能耗降低率", "Energy intensity reduction",
       "environment", "%", "higher", "year", "county_only", _DRC,
       "单位地区生产总值能源消耗比上年降低的幅度",
       definition_en="Fall in energy consumption per unit of GDP from the previous year",
       target_value=3.0, target_year=2025),
    # --- 社会治理 -------------------------------------------------------------------------
    _i("gov_events_received", "四平台事件受理量", "Grassroots platform events received",
       "governance", "件", "neutral", "month", "sum", _GOVN,
       "基层治理四平台当月受理的各类事件数（含网格员上报、群众上报和部门流转）",
       definition_en="Events of every kind received in the month by the four grassroots "
                     "governance platforms (reported by grid workers or residents, or passed on "
                     "by departments)",
       decimals=0, headline=True),
    _i("gov_events_closed", "事件处置完成率", "Event resolution rate", "governance", "%",
       "higher", "month", "mean", _GOVN,
       "“基层治理四平台”跨部门协同事件处置完成数占受理总数的比例",
       definition_en="Cross-department events on the four grassroots governance platforms "
                     "resolved, as a share of all events received",
       baseline_year=2020,
       target_value=95.0, target_year=2025, headline=True, plan_kpi=4),
    _i("gov_dispute_resolved", "矛盾纠纷调处成功率", "Dispute mediation success rate",
       "governance", "%", "higher", "month", "mean", _GOVN,
       "当月调处成功的矛盾纠纷件数占受理调处件数的比例",
       definition_en="Disputes settled by mediation in the month, as a share of the disputes "
                     "taken up",
       target_value=98.0, target_year=2025,
       headline=True),
    _i("gov_hazard_fixed", "安全生产隐患整改率", "Safety hazard rectification rate",
       "governance", "%", "higher", "month", "mean", _EMG,
       "已完成整改的安全生产隐患数占排查发现隐患数的比例",
       definition_en="Work-safety hazards rectified, as a share of the hazards found in "
                     "inspections",
       target_value=98.0,
       target_year=2025, headline=True),
    _i("gov_petitions", "信访量", "Petitions", "governance", "件次", "lower", "month", "sum",
       _PET, "当月来信、来访及网上信访的批次总量",
       definition_en="Petitions by letter, in person and online in the month (batches)",
       decimals=0, headline=True),
    _i("gov_criminal_cases", "刑事案件立案数", "Criminal cases filed", "governance", "起",
       "lower", "month", "sum", _POL, "当月公安机关刑事案件立案起数",
       definition_en="Criminal cases opened by the police in the month",
       decimals=0,
       sensitivity="internal"),
    _i("gov_traffic_deaths", "道路交通事故死亡人数", "Road traffic deaths", "governance", "人",
       "lower", "month", "sum", _POL, "当月道路交通事故造成的死亡人数",
       definition_en="Deaths in road traffic accidents in the month",
       decimals=0,
       sensitivity="internal"),
    _i("gov_fires", "火灾起数", "Fires", "governance", "起", "lower", "month", "sum", _EMG,
       "当月消防救援机构统计的火灾起数",
       definition_en="Fires recorded by the fire and rescue service in the month",
       decimals=0),
    _i("gov_grid_visits", "网格员走访户次", "Grid worker household visits", "governance",
       "万户次", "higher", "month", "sum", _GOVN, "当月网格员入户走访、巡查的户次",
       definition_en="Household visits and patrols made by grid workers in the month",
       decimals=2),
    _i("gov_work_accidents", "生产安全事故起数", "Work-safety accidents", "governance", "起",
       "lower", "month", "sum", _EMG, "当月发生的生产安全事故起数（含工矿商贸领域）",
       definition_en="Work-safety accidents in the month (including industry, mining and "
                     "commerce)",
       decimals=0, sensitivity="internal"),
    # --- 公共服务 -------------------------------------------------------------------------
    _i("svc_online_rate", "网办率", "Online service rate", "service", "%", "higher", "month",
       "pop_mean", _SVC, "依申请政务服务事项网上办理的办件量占总办件量的比例",
       definition_en="Applications for government services handled online, as a share of all "
                     "applications",
       baseline_value=90.0, baseline_year=2020, target_value=95.0, target_year=2025,
       headline=True),
    _i("svc_online_cases", "“网上办”办件量", "Online service cases", "service", "万件",
       "higher", "month", "sum", _SVC, "当月通过浙江政务服务网、浙里办等渠道办理的办件量",
       definition_en="Cases handled in the month through the Zhejiang government service "
                     "website, the Zheliban app and other online channels",
       decimals=2, baseline_value=18.9, baseline_year=2020),
    _i("svc_12345_closed", "12345办结率", "12345 hotline closure rate", "service", "%",
       "higher", "month", "county_only", _SVC, "统一咨询平台（12345）受理件中已办结件的比例",
       definition_en="Requests received by the unified 12345 hotline that have been closed, as a "
                     "share of all requests",
       decimals=2, baseline_value=99.55, baseline_year=2020, target_value=99.8,
       target_year=2025, headline=True),
    _i("svc_12345_satisfaction", "12345满意率", "12345 hotline satisfaction", "service", "%",
       "higher", "month", "county_only", _SVC, "回访群众中表示满意和基本满意的比例",
       definition_en="Residents called back who were satisfied or fairly satisfied, as a share "
                     "of all called back",
       decimals=2,
       baseline_value=99.73, baseline_year=2020, target_value=99.8, target_year=2025,
       headline=True),
    _i("svc_12345_cases", "12345咨询件", "12345 hotline requests", "service", "件", "neutral",
       "month", "sum", _SVC, "统一咨询平台当月受理的咨询、求助、投诉件数",
       definition_en="Enquiries, requests for help and complaints received by the 12345 hotline "
                     "in the month",
       decimals=0,
       baseline_value=14695, baseline_year=2020),
    _i("svc_family_doctor", "家庭医生签约率", "Family doctor contract rate", "service", "%",
       "higher", "quarter", "pop_mean", _HLT, "签约家庭医生的常住人口占常住人口的比例",
       definition_en="Residents with a family doctor contract, as a share of the resident "
                     "population",
       target_value=45.0, target_year=2025, headline=True),
    _i("svc_elderly_beds", "养老床位数", "Elderly care beds", "service", "张", "higher",
       "quarter", "sum", _CIV, "季末机构和社区养老服务床位总数",
       definition_en="Residential and community elderly care beds at the end of the quarter",
       decimals=0, headline=True,
       annual="year_end"),
    _i("svc_mobile_cases", "“掌上办”办件量", "Mobile service cases", "service", "件", "higher",
       "month", "sum", _SVC, "当月通过“浙里办”APP办理的办件量",
       definition_en="Cases handled in the month through the Zheliban app",
       decimals=0),
    _i("svc_one_network", "政务服务“一网通办”率", "One-network service rate", "service", "%",
       "higher", "month", "county_only", _SVC,
       "全县依申请政务服务事项通过2.0受理的办件量占所有办件量的比例",
       definition_en="Applications for government services across the county received through "
                     "the One Network 2.0 system, as a share of all applications",
       baseline_year=2020,
       target_value=90.0, target_year=2025, plan_kpi=10),
    _i("svc_e_archive", "网办事项电子归档率", "E-archiving of online cases", "service", "%",
       "higher", "month", "county_only", _SVC, "全县政务服务网办事项实现电子归档的办件量占总办件量的比例",
       definition_en="Online government service cases across the county archived electronically, "
                     "as a share of all cases",
       baseline_value=30.0, baseline_year=2020, target_value=90.0, target_year=2025,
       plan_kpi=3),
    _i("svc_clinic_visits", "基层医疗机构诊疗人次", "Primary-care visits", "service", "万人次",
       "neutral", "month", "sum", _HLT, "当月乡镇卫生院、社区卫生服务中心诊疗人次",
       definition_en="Patient visits to township health centres and community health service "
                     "centres in the month",
       decimals=2),
    # --- 政务运行 -------------------------------------------------------------------------
    _i("ops_mobile_office", "掌上办公比例", "Mobile office usage", "government", "%", "higher",
       "month", "county_only", _BIG, "全县各级党政机关人员使用“浙政钉”处理日常工作事务的活跃度",
       definition_en="How actively Party and government staff at every level of the county use "
                     "the Zhezhengding app for their daily work",
       baseline_year=2020, target_value=80.0, target_year=2025, headline=True, plan_kpi=1),
    _i("ops_decision_support", "重大决策数字技术支撑率", "Digitally supported major decisions",
       "government", "%", "higher", "year", "county_only", _OFFICE,
       "党政机关重大决策事项中应用大数据分析、智能仿真、风险评估等数字技术辅助决策的比例",
       definition_en="Major Party and government decisions supported by digital techniques such "
                     "as big-data analysis, simulation and risk assessment, as a share of all "
                     "major decisions",
       baseline_year=2020, target_value=80.0, target_year=2025, plan_kpi=2),
    _i("ops_data_catalogued", "数据编目率", "Data cataloguing rate", "government", "%", "higher",
       "quarter", "county_only", _BIG, "按数据应编尽编原则已完成编目的数据比例",
       definition_en="Share of the data that should be catalogued that has been catalogued",
       baseline_year=2020, target_value=100.0, target_year=2025, plan_kpi=11),
    _i("ops_data_collected", "数据归集率", "Data collection rate", "government", "%", "higher",
       "quarter", "county_only", _BIG, "按数据需求已完成归集的数据比例",
       definition_en="Share of the data required that has been collected",
       baseline_year=2020,
       target_value=100.0, target_year=2025, plan_kpi=12),
    _i("ops_data_shared", "数据共享率", "Data sharing rate", "government", "%", "higher",
       "month", "county_only", _BIG, "公共数据平台目录内数据共享需求的满足比例",
       definition_en="Share of the requests to share data in the public data platform's "
                     "catalogue that have been met",
       baseline_year=2020, target_value=90.0, target_year=2025, headline=True, plan_kpi=13),
    _i("ops_data_open", "数据开放率", "Open data rate", "government", "%", "higher", "quarter",
       "county_only", _BIG, "开放数据项占全部归集数据项的比例",
       definition_en="Open data items as a share of all data items collected",
       baseline_year=2020,
       target_value=25.0, target_year=2025, headline=True, plan_kpi=14),
    _i("ops_security_fixed", "网络安全事件及时整改率", "Timely fix of security incidents",
       "government", "%", "higher", "month", "county_only", _BIG, "按期完成整改的网络安全事件数量占比",
       definition_en="Cyber-security incidents rectified on time, as a share of all incidents",
       baseline_year=2020, target_value=90.0, target_year=2025, headline=True,
       sensitivity="internal", plan_kpi=15),
    _i("ops_video_terminals", "视联网终端数", "Video network terminals", "government", "个",
       "higher", "quarter", "county_only", _BIG, "接入县视联网的终端数，覆盖各部门、乡镇及卫生系统",
       definition_en="Terminals connected to the county's video network, across departments, "
                     "townships and the health system",
       decimals=0, baseline_value=83, baseline_year=2020, annual="year_end"),
    _i("ops_grassroots_app", "掌上基层APP在用终端", "Grassroots app devices", "government", "个",
       "higher", "quarter", "sum", _GOVN, "在用“掌上基层”APP终端数（替换原平安通）",
       definition_en="Devices in use with the mobile Grassroots app (which replaced Ping'antong)",
       decimals=0,
       baseline_value=497, baseline_year=2020, headline=True, annual="year_end"),
    _i("ops_village_accounts", "村社系统账号", "Village system accounts", "government", "个",
       "higher", "quarter", "sum", _GOVN, "开通基层治理四平台系统账号的村（社区）数",
       definition_en="Villages (communities) with accounts on the four grassroots governance "
                     "platforms",
       decimals=0,
       baseline_value=278, baseline_year=2020, annual="year_end"),
)

CATALOGUE_BY_CODE: dict[str, Indicator] = {ind.code: ind for ind in DEMO_CATALOGUE}
assert len(CATALOGUE_BY_CODE) == len(DEMO_CATALOGUE), "duplicate indicator code"


def county_short_name(county: str) -> str:
    """龙游县 → 龙游, 婺城区 → 婺城, 兰溪市 → 兰溪 (as departments' names use it)."""
    for suffix in ("自治县", "县", "区", "市", "旗"):
        if county.endswith(suffix) and len(county) > len(suffix) + 1:
            return county[: -len(suffix)]
    return county


def catalogue_for(county: str, city: str = "") -> tuple[Indicator, ...]:
    """The default catalogue for another county: the demo's indicators with that county's
    departments, and without the demo county's plan (its 2020 baselines, 2025 targets and 表1
    rows belong to Wuyi's plan; another county imports its own with a targets file)."""
    short = county_short_name(county)
    renamed = {_ENV: f"{city}生态环境局{short}分局" if city else f"{short}生态环境分局",
               _GRID: f"国网{county}供电公司"}
    return tuple(replace(ind, department=renamed.get(ind.department, ind.department),
                         baseline_value=None, baseline_year=None, target_value=None,
                         target_year=None, plan_kpi=None)
                 for ind in DEMO_CATALOGUE)
