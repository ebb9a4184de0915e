"""Writes tests/forms/corpus/*.json: realistic bad returns, each with the finding codes a reviewer
expects from it. Run `python -m tests.forms.make_corpus` after changing a case; review the diff."""

import json
import random
from pathlib import Path
from typing import Any

from app.demo.returns import school_values, standard_age_code

OUT = Path(__file__).parent / "corpus"


def base() -> dict[str, Any]:
    v = school_values(random.Random(5), ["primary"], standard_age_code)
    v["improvement_plan"] = True
    v["improvement_plan_reviewed"] = "2025-06-30"
    v["has_electricity"] = True
    v["has_internet"] = False
    return v


def cell(values: dict[str, Any], element: str, **dims: Any) -> dict[str, Any]:
    return next(c for c in values[element] if all(c[k] == v for k, v in dims.items()))


def pupils(values: dict[str, Any]) -> int:
    return sum(c["value"] for c in values["enrolment"])


def cases() -> list[tuple[str, str, Any, dict[str, Any] | None, list[str]]]:
    out: list[tuple[str, str, Any, dict[str, Any] | None, list[str]]] = []

    def case(
        name: str, description: str, expect: list[str], previous: dict[str, Any] | None = None
    ):
        def wrap(fn):  # type: ignore[no-untyped-def]
            v = base()
            result = fn(v)
            out.append(
                (name, description, v if result is None else result, previous, sorted(set(expect)))
            )
            return fn

        return wrap

    @case("00_good", "A plausible primary school return: no finding at all.", [], previous=base())
    def _(v):
        pass

    @case("01_negative_count", "A minus sign typed before an enrolment figure.", ["NEGATIVE_COUNT"])
    def _(v):
        v["enrolment"][0]["value"] = -3

    @case("02_age_in_words", "Age written as a word in the spreadsheet.", ["UNKNOWN_OPTION"])
    def _(v):
        v["enrolment"][4]["age"] = "six"

    @case(
        "03_missing_sex",
        "A cell of the enrolment grid without its sex column.",
        ["MISSING_DIMENSION"],
    )
    def _(v):
        del v["enrolment"][5]["sex"]

    @case("04_duplicate_cell", "The same grade, sex and age typed twice.", ["DUPLICATE_CELL"])
    def _(v):
        v["enrolment"].append(dict(v["enrolment"][2]))

    @case(
        "05_unknown_element", "A misspelt element name from an old template.", ["UNKNOWN_ELEMENT"]
    )
    def _(v):
        v["enrollment"] = v.pop("enrolment")

    @case(
        "06_unknown_grade",
        "Repeaters reported for a grade P7 that does not exist.",
        ["UNKNOWN_OPTION"],
    )
    def _(v):
        v["repeaters"][0]["grade"] = "P7"

    @case("07_boolean_as_count", "A tick box exported as TRUE into the seats cell.", ["WRONG_TYPE"])
    def _(v):
        v["seats"] = True

    @case("08_count_as_text", 'A count typed as text ("3").', ["WRONG_TYPE"])
    def _(v):
        v["repeaters"][1]["value"] = "3"

    @case("09_fractional_count", "Teachers given as 2.5 (a part-time teacher).", ["WRONG_TYPE"])
    def _(v):
        v["teachers"][0]["value"] = 2.5

    @case("10_null_value", "Seats left as null instead of being left out.", ["NULL_VALUE"])
    def _(v):
        v["seats"] = None

    @case("11_plain_as_list", "A yes/no answer sent as a list.", ["NOT_A_VALUE"])
    def _(v):
        v["has_electricity"] = [True]

    @case("12_grid_as_number", "Toilets sent as one number instead of by sex.", ["NOT_A_LIST"])
    def _(v):
        v["toilets"] = 5

    @case(
        "13_extra_dimension",
        "Repeaters broken down by age, which the form does not ask.",
        ["UNKNOWN_DIMENSION"],
    )
    def _(v):
        v["repeaters"][0]["age"] = 7

    @case("14_bad_date", "The plan review date in day/month/year.", ["WRONG_TYPE"])
    def _(v):
        v["improvement_plan_reviewed"] = "30/06/2025"

    @case(
        "15_more_repeaters_than_pupils",
        "Repeaters in P3 (girls) above the girls enrolled.",
        ["REP_LE_ENR", "REP_SHARE_HIGH"],
    )
    def _(v):
        cell(v, "repeaters", grade="P3", sex="F")["value"] = (
            cell(v, "enrolment_total", grade="P3", sex="F")["value"] + 5
        )

    @case(
        "16_ages_do_not_add_up",
        "One age cell of P2 boys changed, the total column not.",
        ["AGES_SUM_TOTAL"],
    )
    def _(v):
        cell(v, "enrolment", grade="P2", sex="M", age=8)["value"] += 4

    @case(
        "17_repeaters_in_enrolment_total",
        "The repeaters figure typed in the P4 boys total.",
        ["AGES_SUM_TOTAL"],
    )
    def _(v):
        cell(v, "enrolment_total", grade="P4", sex="M")["value"] = cell(
            v, "repeaters", grade="P4", sex="M"
        )["value"]

    @case(
        "18_teachers_left_out",
        "The teachers table left empty, qualified and trained filled.",
        [
            "REQUIRED_MISSING",
            "TEACHERS_WHEN_PUPILS",
            "QUAL_WITHOUT_TEACHERS",
            "TRAIN_WITHOUT_TEACHERS",
        ],
    )
    def _(v):
        del v["teachers"]

    @case(
        "19_teachers_zero",
        "Zero teachers typed for a school with pupils and qualified teachers.",
        ["TEACHERS_WHEN_PUPILS", "QUAL_LE_TEACHERS", "TRAIN_LE_TEACHERS", "PTR_IMPOSSIBLE"],
    )
    def _(v):
        for c in v["teachers"]:
            c["value"] = 0
        for el in ("teachers_qualified", "teachers_trained"):
            for c in v[el]:
                c["value"] = max(c["value"], 1)

    @case(
        "20_more_qualified_than_teachers",
        "Qualified women teachers above women teachers.",
        ["QUAL_LE_TEACHERS"],
    )
    def _(v):
        cell(v, "teachers_qualified", sex="F")["value"] = cell(v, "teachers", sex="F")["value"] + 3

    @case(
        "21_more_trained_than_teachers",
        "Trained men teachers above men teachers.",
        ["TRAIN_LE_TEACHERS"],
    )
    def _(v):
        cell(v, "teachers_trained", sex="M")["value"] = cell(v, "teachers", sex="M")["value"] + 2

    @case(
        "22_more_usable_toilets",
        "More usable girls' toilets than girls' toilets.",
        ["TOILETS_USABLE_LE_TOILETS"],
    )
    def _(v):
        cell(v, "toilets_usable", sex="F")["value"] = cell(v, "toilets", sex="F")["value"] + 1

    @case(
        "23_new_entrants_above_p1",
        "New entrants (girls, age 6) typed with an extra digit.",
        ["NE_LE_ENR_P1", "NE_EQ_P1_NON_REPEATERS"],
    )
    def _(v):
        cell(v, "new_entrants", sex="F", age=6)["value"] += 500

    @case(
        "24_disabled_above_pupils",
        "Pupils with disabilities above enrolment in P5 boys.",
        ["DIS_LE_ENR", "DIS_SHARE_HIGH"],
    )
    def _(v):
        cell(v, "disabled_pupils", grade="P5", sex="M")["value"] = (
            cell(v, "enrolment_total", grade="P5", sex="M")["value"] + 1
        )

    @case(
        "25_repeaters_for_grade_not_offered",
        "Repeaters typed in the S1 row of a primary school.",
        ["REP_WITHOUT_ENR"],
    )
    def _(v):
        v["repeaters"].append({"grade": "S1", "sex": "F", "value": 2})

    @case(
        "26_plan_without_date",
        "The school has a plan but the review date was left blank.",
        ["PLAN_DATE_MISSING"],
    )
    def _(v):
        del v["improvement_plan_reviewed"]

    @case(
        "27_date_without_plan",
        "A review date with the plan question unanswered.",
        ["PLAN_DATE_WITHOUT_PLAN"],
    )
    def _(v):
        del v["improvement_plan"]

    @case("28_repeaters_left_blank", "The repeaters table left blank (not zero).", ["REP_MISSING"])
    def _(v):
        del v["repeaters"]

    half = base()
    for c in half["enrolment"]:
        c["value"] //= 2

    @case(
        "29_enrolment_doubled",
        "Every grade doubled since last year (last year's return had half).",
        ["ENROL_CHANGE", "COHORT_JUMP"],
        previous=half,
    )
    def _(v):
        pass

    @case("30_pupil_teacher_ratio_high", "Two thirds of the teachers left out.", ["PTR_HIGH"])
    def _(v):
        t = max(1, pupils(v) // 90)
        v["teachers"] = [{"sex": "F", "value": t}, {"sex": "M", "value": 0}]
        v["teachers_qualified"] = [{"sex": "F", "value": t}, {"sex": "M", "value": 0}]
        v["teachers_trained"] = [{"sex": "F", "value": t}, {"sex": "M", "value": 0}]

    @case(
        "31_internet_without_power",
        "Internet ticked in a school without electricity.",
        ["INTERNET_WITHOUT_ELECTRICITY"],
    )
    def _(v):
        v["has_electricity"] = False
        v["has_internet"] = True

    @case(
        "32_handwashing_unanswered",
        "Water answered, handwashing left blank.",
        ["WATER_AND_HANDWASHING"],
    )
    def _(v):
        del v["has_handwashing"]

    @case(
        "33_no_usable_classroom",
        "Classrooms all reported unusable.",
        ["CLASSROOMS_WHEN_PUPILS", "PUPILS_PER_CLASSROOM"],
    )
    def _(v):
        for c in v["classrooms"]:
            c["value"] = 0 if c["condition"] != "unusable" else 6

    @case(
        "34_not_an_object", "A spreadsheet exported as a list instead of a form.", ["NOT_AN_OBJECT"]
    )
    def _(v):
        return [v]

    return out


def main() -> None:
    OUT.mkdir(exist_ok=True)
    for old in OUT.glob("*.json"):
        old.unlink()
    for name, description, values, previous, expect in cases():
        doc = {"description": description, "expect": expect, "values": values, "previous": previous}
        (OUT / f"{name}.json").write_text(
            json.dumps(doc, indent=1, ensure_ascii=False) + "\n", encoding="utf-8"
        )
    print(f"wrote {len(cases())} cases to {OUT}")


if __name__ == "__main__":
    main()
