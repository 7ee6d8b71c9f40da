"""The columns of an import file: names, aliases, limits, accepted values."""

from django.core.exceptions import ImproperlyConfigured

from portal.models import (
    Civility,
    ClassLevel,
    FamilyQuotient,
)
from portal.normalize import normalize_name

GUARDIAN_ROLES = ("responsable {n}", "resp {n}", "r{n}", "parent {n}", "responsable legal {n}",
                   "representant legal {n}", "representant {n}")
GUARDIAN_FIELDS = {
    "civility": ("civilite", "civ", "titre"),
    "last_name": ("nom",),
    "first_name": ("prenom",),
    "email": ("email", "e mail", "mail", "courriel", "adresse email", "adresse mail"),
    "phone": ("telephone", "tel", "portable", "mobile", "telephone portable"),
}


def _guardian_aliases(number: int, what: str) -> tuple[str, ...]:
    roles = [role.format(n=number) for role in GUARDIAN_ROLES]
    if number == 1:
        roles += ["responsable", "parent", "representant legal"]
    roles += [f"du {role}" for role in roles]
    return tuple(f"{prefix} {role}" for prefix in GUARDIAN_FIELDS[what] for role in roles)


# canonical key -> (header shown in messages, aliases). Aliases are compared normalised.
COLUMNS: dict[str, tuple[str, tuple[str, ...]]] = {
    "reference": ("Référence famille", (
        "reference famille", "ref famille", "reference", "code famille", "numero famille",
        "n famille", "no famille", "num famille", "id famille", "identifiant famille",
        "numero dossier", "dossier")),
    "family_name": ("Nom famille", ("nom famille", "famille", "nom foyer", "foyer")),
    **{
        f"g{n}_{what}": (f"{label} responsable {n}", _guardian_aliases(n, what))
        for n in (1, 2)
        for what, label in (("civility", "Civilité"), ("last_name", "Nom"),
                            ("first_name", "Prénom"), ("email", "E-mail"),
                            ("phone", "Téléphone"))
    },
    "address_line1": ("Adresse", ("adresse", "adresse 1", "adresse ligne 1", "rue", "voie")),
    "address_line2": ("Complément d'adresse", (
        "adresse 2", "adresse ligne 2", "complement adresse", "complement")),
    "postcode": ("Code postal", ("code postal", "cp")),
    "city": ("Ville", ("ville", "commune", "localite")),
    "qf": ("QF", ("qf", "quotient familial", "quotient", "montant qf", "valeur qf")),
    "qf_from": ("QF valide du", (
        "qf valide du", "qf valable du", "qf du", "qf debut", "debut qf", "date debut qf",
        "qf date debut", "qf depuis")),
    "qf_until": ("QF valide jusqu'au", (
        "qf valide jusqu au", "qf valable jusqu au", "qf jusqu au", "qf au", "qf fin",
        "fin qf", "date fin qf", "qf date fin")),
    "qf_source": ("Source QF", ("source qf", "qf source", "origine qf", "regime")),
    "child_last_name": ("Nom enfant", ("nom enfant", "nom eleve")),
    "child_first_name": ("Prénom enfant", ("prenom enfant", "prenom eleve")),
    "child_birth_date": ("Date de naissance", (
        "date naissance", "date naissance enfant", "naissance", "ne le", "ne e le", "nee le")),
    "school": ("École", ("ecole", "etablissement", "etablissement scolaire", "groupe scolaire")),
    "class_level": ("Classe", ("classe", "niveau", "niveau scolaire")),
}
REQUIRED_COLUMNS = ("reference", "g1_last_name", "g1_first_name", "child_last_name",
                    "child_first_name", "child_birth_date")
_STOP_WORDS = {"de", "des", "d", "l", "la", "le", "les"}  # not "du"/"au": "QF du", "QF au"

MAX_LENGTHS = {"reference": 32, "family_name": 150, "g1_last_name": 150, "g1_first_name": 150,
               "g2_last_name": 150, "g2_first_name": 150, "g1_email": 254, "g2_email": 254,
               "address_line1": 200, "address_line2": 200, "city": 100,
               "child_last_name": 150, "child_first_name": 150}

CLASS_ALIASES = {
    **{level.value.lower(): level.value for level in ClassLevel},
    "creche": ClassLevel.CRECHE, "tps": ClassLevel.PS, "toutepetitesection": ClassLevel.PS,
    "petitesection": ClassLevel.PS, "moyennesection": ClassLevel.MS,
    "grandesection": ClassLevel.GS, "college": ClassLevel.COLLEGE, "6e": ClassLevel.COLLEGE,
    "6eme": ClassLevel.COLLEGE, "sixieme": ClassLevel.COLLEGE,
}
# Normalised (portal.normalize.normalize_name) -> Civility value. "Mademoiselle" is read
# as "Madame": the treasury refuses it.
CIVILITY_ALIASES = {
    "m": Civility.MR, "mr": Civility.MR, "monsieur": Civility.MR,
    "mme": Civility.MRS, "madame": Civility.MRS, "mlle": Civility.MRS,
    "mademoiselle": Civility.MRS,
}
QF_SOURCES = {
    "caf": FamilyQuotient.Source.CAF, "msa": FamilyQuotient.Source.MSA,
    "calcule": FamilyQuotient.Source.COMPUTED, "computed": FamilyQuotient.Source.COMPUTED,
    "declare": FamilyQuotient.Source.DECLARED, "declared": FamilyQuotient.Source.DECLARED,
}
DEFAULT_QF_SOURCE = FamilyQuotient.Source.CAF

FAMILY_COLUMNS = ("address_line1", "address_line2", "postcode", "city")


def header_key(text: str) -> str:
    """'Prénom de l'enfant' -> 'prenomenfant' (how headers and aliases are compared)."""
    return "".join(word for word in normalize_name(text).split() if word not in _STOP_WORDS)


def _alias_table() -> dict[str, str]:
    table: dict[str, str] = {}
    for key, (label, aliases) in COLUMNS.items():
        for alias in (label, *aliases):
            compact = header_key(alias)
            if table.setdefault(compact, key) != key:
                raise ImproperlyConfigured(f"import column alias {alias!r} is ambiguous")
    return table


ALIASES = _alias_table()


def column_label(key: str) -> str:
    return COLUMNS[key][0]
