"""The demo shows a real number for every indicator a planner opens first (both years filled
with v2 returns whose flows follow from each other), and the kept totals match a recount."""

from app.core.db import make_engine
from app.core.principal import Principal
from app.core.uow import Database
from app.demo.generator import DemoSpec, build_demo
from app.indicators import service
from tests.indicators.helpers import assert_totals_match_a_recount

CODES = (
    "GER,NER,ANER,GIR,NIR,GIR_LAST,OOSR,PCT_REP,PTR,PQTR,PTTR,QUAL_TEACH,TRAIN_TEACH,PCR,"
    "FAC_ELECTRICITY,GPI_GER,GPIA_NER,PR,RR,DR,EPR,ETR,SR,SR_LAST,CE,YIG"
)


def test_every_indicator_has_a_value_in_the_demo(db_url: str) -> None:
    engine = make_engine(db_url)
    db = Database(engine)
    result = build_demo(db, DemoSpec(schools=45, seed=3, returns=True))
    nation = Principal(1, "admin", "admin", 1, "DM", "/1/", 0)
    with db.reader() as s:
        q = service.IndicatorQuery(
            year=result.years[0], levels=(0,), unit=None, indicators=service.parse_codes(CODES),
            education_levels=("primary",), by=(), statuses=service.DEFAULT_STATUSES,
            form="annual_school_census", cap=None, ownership=None, locality=None, lang="en",
        )  # fmt: skip
        rows = service.indicators(s, nation, q).data["rows"]
    engine.dispose()
    missing = sorted({r["indicator"] for r in rows if r["value"] is None})
    assert missing == []
    assert {r["indicator"] for r in rows} == set(CODES.split(","))
    ptr = next(r for r in rows if r["indicator"] == "PTR")
    assert 20 <= ptr["value"] <= 50  # the demo's teachers: 25-45 pupils each, by level
    rr = [r for r in rows if r["indicator"] == "RR"]
    assert len(rr) == 6 and all(2 <= r["value"] <= 13 for r in rr)  # district rates 3-12 %
    assert_totals_match_a_recount(db_url)
