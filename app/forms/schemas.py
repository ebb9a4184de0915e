"""API shapes of the forms feature: a definition travels as the JSON it was loaded from."""

from typing import Any

from app.forms.checking import parse_definition

# A small definition in the exact shape the API serves (parsed and dumped as it is stored).
FORM_EXAMPLE: dict[str, Any] = parse_definition(
    {
        "code": "annual_school_census",
        "version": 1,
        "title": {"en": "Annual school census", "fr": "Recensement scolaire annuel"},
        "categories": {
            "grade": {"label": {"en": "Grade", "fr": "Classe"}, "options": ["P1", "P2"]},
            "sex": {"label": {"en": "Sex", "fr": "Sexe"}, "options": ["F", "M"]},
        },
        "elements": [
            {
                "code": "enrolment",
                "type": "count",
                "dimensions": ["grade", "sex"],
                "required": True,
                "label": {"en": "Pupils enrolled", "fr": "Élèves inscrits"},
            },
            {
                "code": "repeaters",
                "type": "count",
                "dimensions": ["grade", "sex"],
                "label": {"en": "Repeaters", "fr": "Redoublants"},
            },
        ],
        "rules": [
            {
                "code": "REP_LE_ENR",
                "left": "repeaters",
                "op": "<=",
                "right": "enrolment",
                "for_each": ["grade", "sex"],
                "message": {
                    "en": "More repeaters than pupils",
                    "fr": "Plus de redoublants que d'élèves",
                },
            }
        ],
    }
).model_dump(mode="json")


def form_responses(many: bool) -> dict[int | str, dict[str, Any]]:
    """The documented 200 of the forms endpoints, with a real definition as its example."""
    example = [FORM_EXAMPLE] if many else FORM_EXAMPLE
    return {200: {"content": {"application/json": {"example": example}}}}
