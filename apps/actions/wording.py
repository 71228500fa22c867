"""The fixed wording of an action's messages in the reader's language (nl, en, de, fr).

What a citizen reads in an alert is partly the operator's (the title, the free
description, the signalement's words) and partly fixed: the kind, the call line, "Update",
"Afgelopen", the result, the exercise's notice, the verification code's label. The fixed
part follows the reader's language, never the operator's screen language, so it does not
go through gettext (whose catalogs are those of the staff's screens: Dutch and English);
it is this phrasebook, one small set of alert phrases per language. Every phrase exists
in every language (a test holds it to that); the Dutch ones are the model's own labels.
"""

DEFAULT_LANGUAGE = "nl"
LANGUAGES = ("nl", "en", "de", "fr")
OTHER_LANGUAGES = tuple(language for language in LANGUAGES if language != DEFAULT_LANGUAGE)

PHRASES: dict[str, dict[str, str]] = {
    "nl": {
        "kind.missing_person": "vermissing",
        "kind.missing_child": "vermist kind",
        "kind.amber_alert": "AMBER Alert",
        "kind.robbery": "overval",
        "kind.burglary": "inbraak / insluiping",
        "kind.hit_and_run": "doorrijden na aanrijding",
        "kind.suspicious_situation": "verdachte situatie",
        "kind.other": "overig",
        "result.found_safe": "gevonden",
        "result.arrested": "aangehouden",
        "result.not_found": "geen resultaat",
        "result.other": "anders",
        "sex.male": "man",
        "sex.female": "vrouw",
        "sex.unknown": "onbekend",
        "age": "%(age)s jaar",
        "call": "Gezien? Bel 0800-0011 (bij spoed 112).",
        "update": "Update: %s",
        "ended": "Afgelopen: %s",
        "correction": "Rectificatie: %s",
        "exercise": "OEFENING",
        "exercise_notice": "Dit is een oefening.",
        "code": "Controlecode %s",
    },
    "en": {
        "kind.missing_person": "missing person",
        "kind.missing_child": "missing child",
        "kind.amber_alert": "AMBER Alert",
        "kind.robbery": "robbery",
        "kind.burglary": "burglary / sneak-in theft",
        "kind.hit_and_run": "hit-and-run",
        "kind.suspicious_situation": "suspicious situation",
        "kind.other": "other",
        "result.found_safe": "found",
        "result.arrested": "arrested",
        "result.not_found": "no result",
        "result.other": "other outcome",
        "sex.male": "man",
        "sex.female": "woman",
        "sex.unknown": "unknown",
        "age": "%(age)s years old",
        "call": "Seen anything? Call 0800-0011 (emergency: 112).",
        "update": "Update: %s",
        "ended": "Ended: %s",
        "correction": "Correction: %s",
        "exercise": "EXERCISE",
        "exercise_notice": "This is an exercise.",
        "code": "Check code %s",
    },
    "de": {
        "kind.missing_person": "vermisste Person",
        "kind.missing_child": "vermisstes Kind",
        "kind.amber_alert": "AMBER Alert",
        "kind.robbery": "Raubüberfall",
        "kind.burglary": "Einbruch / Einschleichdiebstahl",
        "kind.hit_and_run": "Unfallflucht",
        "kind.suspicious_situation": "verdächtige Situation",
        "kind.other": "Sonstiges",
        "result.found_safe": "aufgefunden",
        "result.arrested": "festgenommen",
        "result.not_found": "ohne Ergebnis",
        "result.other": "anderer Ausgang",
        "sex.male": "Mann",
        "sex.female": "Frau",
        "sex.unknown": "unbekannt",
        "age": "%(age)s Jahre",
        "call": "Etwas gesehen? Rufen Sie 0800-0011 an (im Notfall 112).",
        "update": "Aktualisierung: %s",
        "ended": "Beendet: %s",
        "correction": "Berichtigung: %s",
        "exercise": "ÜBUNG",
        "exercise_notice": "Dies ist eine Übung.",
        "code": "Prüfcode %s",
    },
    # French punctuation wants a (thin) non-breaking space before ":" and "?": a plain
    # space here, which an SMS carries in GSM-7 as it is.
    "fr": {
        "kind.missing_person": "personne disparue",
        "kind.missing_child": "enfant disparu",
        "kind.amber_alert": "Alerte AMBER",
        "kind.robbery": "vol avec violence",
        "kind.burglary": "cambriolage / vol par introduction",
        "kind.hit_and_run": "délit de fuite",
        "kind.suspicious_situation": "situation suspecte",
        "kind.other": "autre",
        "result.found_safe": "personne retrouvée",
        "result.arrested": "interpellation effectuée",
        "result.not_found": "recherches sans résultat",
        "result.other": "autre issue",
        "sex.male": "homme",
        "sex.female": "femme",
        "sex.unknown": "inconnu",
        "age": "%(age)s ans",
        "call": "Vous avez vu quelque chose ? Appelez le 0800-0011 (urgence : 112).",
        "update": "Mise à jour : %s",
        "ended": "Terminé : %s",
        "correction": "Rectification : %s",
        "exercise": "EXERCICE",
        "exercise_notice": "Ceci est un exercice.",
        "code": "Code de contrôle %s",
    },
}


def language_or_default(language: str | None) -> str:
    """`language` if the phrasebook has it, Dutch otherwise."""
    return language if language in PHRASES else DEFAULT_LANGUAGE


def phrase(key: str, language: str = DEFAULT_LANGUAGE) -> str:
    """The fixed phrase `key` in `language` (Dutch for a language the book lacks)."""
    return PHRASES[language_or_default(language)][key]


def kind(value: str, language: str = DEFAULT_LANGUAGE) -> str:
    return phrase(f"kind.{value}", language)


def result(value: str, language: str = DEFAULT_LANGUAGE) -> str:
    return phrase(f"result.{value}", language)


def sex(value: str, language: str = DEFAULT_LANGUAGE) -> str:
    return phrase(f"sex.{value}", language)


def age(value: str, language: str = DEFAULT_LANGUAGE) -> str:
    return phrase("age", language) % {"age": value}
