"""The client's messages in English and French (the check engine renders its own findings)."""

import os
from typing import Any

LANGS = ("en", "fr")

MESSAGES: dict[str, tuple[str, str]] = {
    # set-up and doctor
    "not_initialised": (
        "This client is not set up yet.",
        "Ce client n'est pas encore configuré.",
    ),
    "fix_init": (
        "Run: emis-sync init --server URL (the address your ministry gave you).",
        "Lancez : emis-sync init --server URL (l'adresse donnée par le ministère).",
    ),
    "unreachable": (
        "The server {server} cannot be reached ({error}).",
        "Le serveur {server} est injoignable ({error}).",
    ),
    "fix_unreachable": (
        "Check the connection and the address (emis-sync init --server URL to change it); "
        "your work is kept on this laptop and is sent when the server answers.",
        "Vérifiez la connexion et l'adresse (emis-sync init --server URL pour la changer) ; "
        "votre travail reste sur cet ordinateur et part quand le serveur répond.",
    ),
    "login_failed": (
        "The username or the password is wrong.",
        "Le nom d'utilisateur ou le mot de passe est faux.",
    ),
    "fix_login": (
        "Run: emis-sync login (or emis-sync login --token T with a device token from your "
        "administrator).",
        "Lancez : emis-sync login (ou emis-sync login --token T avec un jeton d'appareil donné "
        "par votre administrateur).",
    ),
    "no_token": ("You are not logged in.", "Vous n'êtes pas connecté."),
    "token_revoked": (
        "The server refuses the token: it was revoked or has expired.",
        "Le serveur refuse le jeton : il a été révoqué ou a expiré.",
    ),
    "doc_store": ("Local store {path} (schema {v}).", "Stockage local {path} (schéma {v})."),
    "doc_reachable": ("The server {server} answers.", "Le serveur {server} répond."),
    "doc_token": (
        "Logged in as {user} (area {unit}).",
        "Connecté en tant que {user} (zone {unit}).",
    ),
    "doc_clock": (
        "This laptop's clock agrees with the server.",
        "L'horloge de cet ordinateur est à l'heure du serveur.",
    ),
    "clock_ahead": (
        "This laptop's clock is {minutes} minutes ahead of the server.",
        "L'horloge de cet ordinateur avance de {minutes} minutes sur le serveur.",
    ),
    "clock_behind": (
        "This laptop's clock is {minutes} minutes behind the server.",
        "L'horloge de cet ordinateur retarde de {minutes} minutes sur le serveur.",
    ),
    "fix_clock": (
        "Set the date, time and time zone of this laptop (server time: {server_time}).",
        "Réglez la date, l'heure et le fuseau horaire de cet ordinateur (heure du serveur : "
        "{server_time}).",
    ),
    "no_forms": (
        "No census form on this laptop yet.",
        "Aucun formulaire de recensement sur cet ordinateur.",
    ),
    "no_years": ("No school year on this laptop yet.", "Aucune année scolaire sur cet ordinateur."),
    "fix_pull": (
        "Run: emis-sync pull (while online).",
        "Lancez : emis-sync pull (connecté).",
    ),
    "doc_outbox": ("{n} change(s) waiting to be sent.", "{n} modification(s) en attente d'envoi."),
    "doc_stuck": (
        "{n} change(s) could not be sent last time.",
        "{n} modification(s) n'ont pas pu être envoyées la dernière fois.",
    ),
    "fix_status": (
        "Run: emis-sync status to see why, then emis-sync push.",
        "Lancez : emis-sync status pour voir pourquoi, puis emis-sync push.",
    ),
    "doc_conflicts": (
        "{n} change(s) are in conflict with the server.",
        "{n} modification(s) sont en conflit avec le serveur.",
    ),
    "fix_conflicts": (
        "Run: emis-sync conflicts, then emis-sync resolve SCHOOL --keep mine|theirs.",
        "Lancez : emis-sync conflicts, puis emis-sync resolve ÉCOLE --keep mine|theirs.",
    ),
    "which_form": (
        "Several forms are known ({codes}).",
        "Plusieurs formulaires sont connus ({codes}).",
    ),
    "fix_form": ("Name the form.", "Précisez le formulaire."),
    "unknown_form": (
        "The form {form} version {version} is not on this laptop.",
        "Le formulaire {form} version {version} n'est pas sur cet ordinateur.",
    ),
    # returns and cells
    "unknown_school": (
        "The school {school} is not in your registry.",
        "L'école {school} n'est pas dans votre registre.",
    ),
    "fix_unknown_school": (
        "Check the school code against the list of your schools (emis-sync status); "
        "emis-sync pull brings new schools.",
        "Vérifiez le code dans la liste de vos écoles (emis-sync status) ; "
        "emis-sync pull apporte les nouvelles écoles.",
    ),
    "closed_school": (
        "The school {school} ({name}) is closed in the registry.",
        "L'école {school} ({name}) est fermée dans le registre.",
    ),
    "fix_closed_school": (
        "Remove its rows; if the school has reopened, ask your administrator to reopen it in "
        "the registry, then run emis-sync pull.",
        "Supprimez ses lignes ; si l'école a rouvert, demandez à l'administrateur de la rouvrir "
        "dans le registre, puis lancez emis-sync pull.",
    ),
    "in_conflict": (
        "The return of {school} ({name}) is in conflict with the server.",
        "La fiche de {school} ({name}) est en conflit avec le serveur.",
    ),
    "unknown_cell": (
        "{cell} is not a cell of the form.",
        "{cell} n'est pas une case du formulaire.",
    ),
    "fix_cell": (
        "Write cells as element[dimension=option,...], e.g. enrolment[grade=P1,sex=F,age=6] "
        "or seats; emis-sync show SCHOOL lists them.",
        "Écrivez les cases sous la forme élément[dimension=option,...], par ex. "
        "enrolment[grade=P1,sex=F,age=6] ou seats ; emis-sync show ÉCOLE les liste.",
    ),
    "not_whole": ("'{value}' is not a whole number.", "« {value} » n'est pas un nombre entier."),
    "negative": (
        "{value} is negative; a count cannot be below 0.",
        "{value} est négatif ; un effectif ne peut pas être inférieur à 0.",
    ),
    "fix_whole": (
        "Type a whole number (0 or more), or leave the cell blank if it is not known.",
        "Tapez un nombre entier (0 ou plus), ou laissez la case vide si elle n'est pas connue.",
    ),
    "not_yes_no": ("'{value}' is not yes or no.", "« {value} » n'est ni oui ni non."),
    "fix_yes_no": (
        "Type 1 (yes / oui) or 0 (no / non), or leave the cell blank.",
        "Tapez 1 (oui / yes) ou 0 (non / no), ou laissez la case vide.",
    ),
    "not_date": ("'{value}' is not a date.", "« {value} » n'est pas une date."),
    "fix_date": (
        "Type the date as YYYY-MM-DD (for example 2026-02-15).",
        "Tapez la date sous la forme AAAA-MM-JJ (par exemple 2026-02-15).",
    ),
    "unknown_option": (
        "'{value}' is not a {dim} of the form ({options}).",
        "« {value} » n'est pas une valeur de {dim} du formulaire ({options}).",
    ),
    "fix_option": (
        "Use one of the values the template lists; do not change the grey columns.",
        "Utilisez une des valeurs du modèle ; ne modifiez pas les colonnes grises.",
    ),
    "no_code": (
        "This row has figures but no school code.",
        "Cette ligne a des chiffres mais pas de code d'école.",
    ),
    "fix_no_code": (
        "Type the school's code in column A (see the list of your schools).",
        "Tapez le code de l'école en colonne A (voir la liste de vos écoles).",
    ),
    "twice": (
        "This cell is given twice for the school (also {other}).",
        "Cette case est donnée deux fois pour l'école (aussi {other}).",
    ),
    "fix_twice": (
        "Keep one row per school (and grade, sex…) and delete the other.",
        "Gardez une seule ligne par école (et classe, sexe…) et supprimez l'autre.",
    ),
    "fix_structure": (
        "Correct the cell in the file and import it again.",
        "Corrigez la case dans le fichier et importez-le à nouveau.",
    ),
    "not_template": (
        "This workbook is not an emis-sync template (no form code and version in it).",
        "Ce classeur n'est pas un modèle emis-sync (il n'indique ni formulaire ni version).",
    ),
    "fix_template": (
        "Make one with emis-sync template FILE.xlsx and copy the figures into it.",
        "Créez-en un avec emis-sync template FICHIER.xlsx et recopiez-y les chiffres.",
    ),
    "bad_file": ("{file} cannot be read: {error}.", "{file} ne peut pas être lu : {error}."),
    "fix_bad_file": (
        "Import an .xlsx made by emis-sync template, a .csv (school, element, dimensions, "
        "value) or a .json file.",
        "Importez un .xlsx créé par emis-sync template, un .csv (school, element, dimensions, "
        "value) ou un fichier .json.",
    ),
    "missing_columns": (
        "The CSV file lacks the column(s) {columns}.",
        "Il manque au fichier CSV la ou les colonnes {columns}.",
    ),
    "fix_columns": (
        "The first line must name the columns: school, element, the dimensions used "
        "(grade, sex, age, …) and value.",
        "La première ligne doit nommer les colonnes : school, element, les dimensions "
        "(grade, sex, age, …) et value.",
    ),
    "unknown_element": (
        "'{value}' is not an element of the form.",
        "« {value} » n'est pas un élément du formulaire.",
    ),
    "fix_element": (
        "Use an element code of the form (emis-sync show SCHOOL lists them).",
        "Utilisez un code d'élément du formulaire (emis-sync show ÉCOLE les liste).",
    ),
    "where_sheet": ("sheet {sheet}", "feuille {sheet}"),
    "where_row": ("row {row}", "ligne {row}"),
    "where_cell": ("cell {cell}", "case {cell}"),
    "bad_keep": (
        "--keep must be mine or theirs, not {keep}.",
        "--keep vaut mine ou theirs, pas {keep}.",
    ),
    "fix_keep": (
        "mine keeps what you typed; theirs keeps the server's values.",
        "mine garde ce que vous avez tapé ; theirs garde les valeurs du serveur.",
    ),
    "no_conflict": ("{school} has no conflict.", "{school} n'a pas de conflit."),
    # command-line output
    "fix": ("Fix", "Correction"),
    "school": ("School", "École"),
    "name": ("Name", "Nom"),
    "local": ("Local", "Local"),
    "server": ("Server", "Serveur"),
    "last_push": ("Last push", "Dernier envoi"),
    "findings": ("Findings", "Constats"),
    "verdict": ("Verdict", "Verdict"),
    "cell": ("Cell", "Case"),
    "value": ("Value", "Valeur"),
    "mine": ("Mine", "Les miennes"),
    "theirs": ("Server's", "Du serveur"),
    "n_findings": ("{e} E, {w} W", "{e} E, {w} A"),
    "n_errors": ("{n} error(s)", "{n} erreur(s)"),
    "n_warnings": ("{n} warning(s)", "{n} avertissement(s)"),
    "state_empty": ("not started", "non commencée"),
    "state_synced": ("up to date", "à jour"),
    "state_pending": ("to send", "à envoyer"),
    "state_pushed": ("sent", "envoyée"),
    "state_conflict": ("CONFLICT", "CONFLIT"),
    "state_rejected": ("REJECTED", "REFUSÉE"),
    "verdict_ok": ("ok", "correcte"),
    "verdict_invalid": ("errors", "erreurs"),
    "verdict_rejected": ("refused", "refusée"),
    "import_problems": (
        "{file}: {n} problem(s); nothing was imported. Fix them and import the file again.",
        "{file} : {n} problème(s) ; rien n'a été importé. Corrigez-les et importez à nouveau "
        "le fichier.",
    ),
    "import_done": (
        "{file}: {n} return(s) read, {changed} new or changed, queued to send (emis-sync push).",
        "{file} : {n} fiche(s) lue(s), {changed} nouvelle(s) ou modifiée(s), en attente d'envoi "
        "(emis-sync push).",
    ),
    "file_problems": ("Problems in the file", "Problèmes dans le fichier"),
    "no_school": ("(no school)", "(sans école)"),
    "push_done": (
        "Sent {sent} change(s) in {batches} request(s): {applied} stored, {conflict} in "
        "conflict, {rejected} refused.",
        "{sent} modification(s) envoyée(s) en {batches} requête(s) : {applied} enregistrée(s), "
        "{conflict} en conflit, {rejected} refusée(s).",
    ),
    "push_nothing": ("Nothing to send.", "Rien à envoyer."),
    "push_failed": (
        "Sending stopped: {error}. Nothing is lost; run emis-sync push again.",
        "L'envoi s'est arrêté : {error}. Rien n'est perdu ; relancez emis-sync push.",
    ),
    "pull_done": (
        "Received {changes} change(s) ({deleted} removed).",
        "{changes} modification(s) reçue(s) ({deleted} supprimée(s)).",
    ),
    "pull_restarted": (
        "The server asked for a fresh start; everything was received again.",
        "Le serveur a demandé de tout reprendre ; tout a été reçu à nouveau.",
    ),
    "kept_local": (
        "{n} school(s) have changes not yet sent; your values are kept.",
        "{n} école(s) ont des modifications non envoyées ; vos valeurs sont conservées.",
    ),
    "no_conflicts": ("No conflicts.", "Aucun conflit."),
    "conflict_head": (
        "{school} {name} ({year}): you edited revision {base}; the server now has revision "
        "{rev}{by}.",
        "{school} {name} ({year}) : vous avez modifié la révision {base} ; le serveur a "
        "maintenant la révision {rev}{by}.",
    ),
    "by": (" by {user}", " de {user}"),
    "resolve_hint": (
        "Keep yours or the server's: emis-sync resolve {school} --keep mine|theirs "
        "(or --cell CELL=mine|theirs).",
        "Gardez les vôtres ou celles du serveur : emis-sync resolve {school} --keep "
        "mine|theirs (ou --cell CASE=mine|theirs).",
    ),
    "resolved": (
        "{school}: resolved; the new revision is queued (emis-sync push).",
        "{school} : résolu ; la nouvelle révision est en attente d'envoi (emis-sync push).",
    ),
    "comment": ("Reviewer {user}: {comment}", "Relecteur {user} : {comment}"),
    "saved": ("{school}: saved; queued to send.", "{school} : enregistré ; en attente d'envoi."),
    "unchanged": ("{school}: nothing changed.", "{school} : rien n'a changé."),
    "template_done": (
        "Wrote {file} for {n} school(s), {year}: fill it in, then emis-sync import {file}.",
        "{file} écrit pour {n} école(s), {year} : remplissez-le, puis emis-sync import {file}.",
    ),
    "logged_in": (
        "Logged in as {user} (area {unit}).",
        "Connecté en tant que {user} (zone {unit}).",
    ),
    "initialised": (
        "Set up for {server} in {home}. Next: emis-sync login.",
        "Configuré pour {server} dans {home}. Ensuite : emis-sync login.",
    ),
    "retrying": ("Retrying after: {error}", "Nouvel essai après : {error}"),
}


def pick_lang(lang: str | None = None) -> str:
    """The asked language, else LANG (fr_FR.UTF-8 → fr), else English."""
    for candidate in (lang, os.environ.get("EMIS_SYNC_LANG"), os.environ.get("LANG")):
        if candidate:
            code = candidate.split("_")[0].split(".")[0].split("-")[0].lower()
            if code in LANGS:
                return code
    return "en"


def t(key: str, lang: str, **kwargs: Any) -> str:
    """A message in the clerk's language."""
    en, fr = MESSAGES[key]
    return (fr if lang == "fr" else en).format(**kwargs)
