"""The push's own findings (before the check engine runs), in English and French."""

MESSAGES: dict[str, dict[str, str]] = {
    "NOT_AN_ITEM": {
        "en": "An item must be an object.",
        "fr": "Un élément doit être un objet.",
    },
    "INVALID_ITEM": {
        "en": "“{field}” is not valid: {detail}",
        "fr": "« {field} » n'est pas valide : {detail}",
    },
    "ID_REUSED": {
        "en": "Change id {id} was already used for other content (revision {revision}); "
        "make a new id for a new change.",
        "fr": "L'identifiant de modification {id} a déjà servi pour un autre contenu "
        "(révision {revision}) ; créez un nouvel identifiant pour une nouvelle modification.",
    },
    "UNKNOWN_SCHOOL": {
        "en": "No school has the code “{school}”.",
        "fr": "Aucune école n'a le code « {school} ».",
    },
    "OUTSIDE_AREA": {
        "en": "School {school} lies outside your area ({area}).",
        "fr": "L'école {school} est hors de votre zone ({area}).",
    },
    "UNKNOWN_YEAR": {
        "en": "No school year {year}.",
        "fr": "Aucune année scolaire {year}.",
    },
    "WINDOW_CLOSED": {
        "en": "The census window for {label} closed on {closed}; ask an administrator to "
        "reopen it.",
        "fr": "La période de recensement {label} est close depuis le {closed} ; demandez à un "
        "administrateur de la rouvrir.",
    },
    "UNKNOWN_FORM": {
        "en": "No form “{form}” version {version}; pull to get the forms.",
        "fr": "Aucun formulaire « {form} » version {version} ; synchronisez (pull) pour "
        "recevoir les formulaires.",
    },
}


def push_message(code: str, lang: str, **kw: object) -> str:
    """The text of a push finding, filled in, in the caller's language (English otherwise)."""
    texts = MESSAGES[code]
    return texts.get(lang, texts["en"]).format(**kw)
