"""Messages a district clerk understands, in English and French."""

MESSAGES: dict[str, dict[str, str]] = {
    "NOT_AN_OBJECT": {
        "en": "The values must be an object of data elements.",
        "fr": "Les valeurs doivent être un objet d'éléments de données.",
    },
    "UNKNOWN_ELEMENT": {
        "en": "“{element}” is not a data element of this form.",
        "fr": "« {element} » n'est pas un élément de données de ce formulaire.",
    },
    "NOT_A_LIST": {
        "en": "“{element}” is broken down by {dims}: send a list of cells.",
        "fr": "« {element} » est ventilé par {dims} : envoyez une liste de cellules.",
    },
    "NOT_A_VALUE": {
        "en": "“{element}” takes a single value, not a list or an object.",
        "fr": "« {element} » prend une seule valeur, pas une liste ni un objet.",
    },
    "NOT_A_CELL": {
        "en": "Each cell of “{element}” must be an object with its {dims} and a value.",
        "fr": "Chaque cellule de « {element} » doit être un objet avec {dims} et une valeur.",
    },
    "MISSING_DIMENSION": {
        "en": "This cell of “{element}” does not say its {dim}.",
        "fr": "Cette cellule de « {element} » n'indique pas {dim}.",
    },
    "UNKNOWN_DIMENSION": {
        "en": "“{element}” is not broken down by “{dim}”.",
        "fr": "« {element} » n'est pas ventilé par « {dim} ».",
    },
    "UNKNOWN_OPTION": {
        "en": "“{value}” is not a valid {dim} (expected one of {options}).",
        "fr": "« {value} » n'est pas une valeur valide de {dim} (attendu : {options}).",
    },
    "MISSING_VALUE": {
        "en": "This cell of “{element}” has no value.",
        "fr": "Cette cellule de « {element} » n'a pas de valeur.",
    },
    "NULL_VALUE": {
        "en": "“{element}” is empty (null); leave the cell out if it is not known.",
        "fr": "« {element} » est vide (null) ; omettez la cellule si elle n'est pas connue.",
    },
    "WRONG_TYPE": {
        "en": "“{element}” must be {expected}, not {value}.",
        "fr": "« {element} » doit être {expected_fr}, pas {value}.",
    },
    "NEGATIVE_COUNT": {
        "en": "“{element}” cannot be negative ({value}).",
        "fr": "« {element} » ne peut pas être négatif ({value}).",
    },
    "NUMBER_TOO_LARGE": {
        "en": "“{element}” is {value}, more than {limit}: check the figure.",
        "fr": "« {element} » vaut {value}, plus que {limit} : vérifiez le chiffre.",
    },
    "DUPLICATE_CELL": {
        "en": "This cell of “{element}” ({key}) is given twice.",
        "fr": "Cette cellule de « {element} » ({key}) est donnée deux fois.",
    },
    "REQUIRED_MISSING": {
        "en": "“{element}” is required and was not filled in.",
        "fr": "« {element} » est obligatoire et n'a pas été rempli.",
    },
    "ENROL_CHANGE": {
        "en": "Enrolment in {grade} changed by {share}% since last year ({before} → {now}).",
        "fr": "L'effectif en {grade} a varié de {share} % depuis l'an dernier ({before} → {now}).",
    },
    "PTR_HIGH": {
        "en": "{ratio} pupils per teacher is more than {limit}: check pupils and teachers.",
        "fr": "{ratio} élèves par enseignant dépasse {limit} : vérifiez élèves et enseignants.",
    },
    "PTR_LOW": {
        "en": "{ratio} pupils per teacher is less than {limit}: check pupils and teachers.",
        "fr": "{ratio} élèves par enseignant est inférieur à {limit} : vérifiez élèves et enseignants.",
    },
    "COHORT_JUMP": {
        "en": "{grade} has {now} pupils but {previous_grade} had only {before} last year.",
        "fr": "{grade} compte {now} élèves mais {previous_grade} n'en avait que {before} l'an dernier.",
    },
    # The detail after an exclusive_pair rule's own message.
    "BOTH_PRESENT": {
        "en": "both {left} and {right} are filled in; only one of them may be",
        "fr": "{left} et {right} sont tous deux remplis ; un seul des deux peut l'être",
    },
}

EXPECTED = {
    "count": ("a whole number of 0 or more", "un nombre entier positif ou nul"),
    "boolean": ("true or false", "vrai ou faux (true/false)"),
    "choice": ("one of the listed choices", "l'un des choix proposés"),
    "text": ("text", "du texte"),
    "date": ("a date (YYYY-MM-DD)", "une date (AAAA-MM-JJ)"),
}


LANGUAGES = ("en", "fr")


class Message(str):
    """A message in the asked language that also carries its text in every other language, so
    a stored finding can be read later in the reader's language."""

    texts: dict[str, str]

    @classmethod
    def of(cls, lang: str, texts: dict[str, str]) -> "Message":
        """The message in `lang` (English when missing), keeping every language's text."""
        made = cls(texts.get(lang, texts["en"]))
        made.texts = texts
        return made


def message(code: str, lang: str, **kw: object) -> Message:
    """The text for a finding code, filled in (in every language; reads as the asked one)."""
    texts = MESSAGES[code]
    return Message.of(lang, {lg: texts.get(lg, texts["en"]).format(**kw) for lg in LANGUAGES})
