"""The fixed world a synthetic leak happens in: labs, physicians, mutuelles, places.

Modelled on the 2021 case (CASE.md): one lab-software vendor, 28 client labs (the data
controllers) in six départements of Bretagne, Centre-Val de Loire and Normandie. Every
identifier carries a valid key (FINESS, SIREN and RPPS use the Luhn check), every address
a real postal code and commune from :mod:`ariane.geo`.
"""

from __future__ import annotations

import random
from dataclasses import dataclass

from stdnum import luhn

from ariane.geo import Commune, Referential, normalise_commune_name

# Six départements of the 2021 case, with labs spread over their main towns.
LAB_TOWNS: dict[str, tuple[str, ...]] = {
    "35": ("Rennes", "Saint-Malo", "Fougères", "Vitré", "Redon", "Bruz", "Cesson-Sévigné"),
    "29": ("Brest", "Quimper", "Morlaix", "Landerneau", "Concarneau"),
    "56": ("Vannes", "Lorient", "Pontivy", "Auray"),
    "37": ("Tours", "Amboise", "Chinon", "Joué-lès-Tours", "Loches"),
    "45": ("Orléans", "Montargis", "Gien", "Pithiviers"),
    "14": ("Caen", "Lisieux", "Bayeux", "Hérouville-Saint-Clair"),
}
# Patients mostly live in the lab's département, some across a border: the lab's "area".
NEIGHBOURS: dict[str, tuple[str, ...]] = {
    "35": ("22", "56", "44", "53", "50"),
    "29": ("22", "56"),
    "56": ("29", "22", "35", "44"),
    "37": ("41", "72", "49", "86", "36"),
    "45": ("28", "41", "18", "89", "77", "91"),
    "14": ("50", "61", "27"),
}
MUTUELLES: tuple[str, ...] = (
    "Mutuelle Armor Santé",
    "Mutuelle Générale de l'Ouest",
    "Ouest Prévoyance Mutuelle",
    "Mutuelle des Pays de Rance",
    "Harmonie Loire Santé",
    "Mutuelle du Val de Loire",
    "Mutuelle Familiale Normande",
    "Prévoyance Santé Bretagne",
    "Mutuelle Nationale des Agents Publics",
    "Mutuelle des Cheminots de l'Ouest",
    "Santé Solidaire Centre",
    "Mutuelle Interprofessionnelle Normandie",
    "MSA Complémentaire",
    "Alliance Mutualiste Santé",
    "Mutuelle des Enseignants",
    "Mutuelle Générale de l'Industrie",
    "Groupe Assurance Santé Plus",
    "Complémentaire santé solidaire",
    "CMU-C",
    "Mutuelle Océane",
)
# Faker's fr_FR pool has 400 surnames; regional ones keep the leak from reading as generic.
REGIONAL_SURNAMES: tuple[str, ...] = (
    "Le Gall",
    "Le Goff",
    "Le Roux",
    "Tanguy",
    "Guillou",
    "Le Bihan",
    "Kerhervé",
    "Quéméner",
    "Jézéquel",
    "Le Floch",
    "Le Guen",
    "Cadiou",
    "Le Corre",
    "Le Bris",
    "Morvan",
    "Le Meur",
    "Riou",
    "Le Borgne",
    "Kerleroux",
    "Le Hir",
    "Prigent",
    "Le Page",
    "Hamon",
    "Le Cam",
    "Guéguen",
    "Le Du",
    "Lucas",
    "Lebreton",
    "Lemonnier",
    "Leprévost",
    "Lecoq",
    "Lemarchand",
    "Hue",
    "Marie",
    "Jeanne",
    "Duval",
    "Lefebvre",
    "Chauvin",
    "Pasquier",
    "Boutet",
    "Berthelot",
    "Chartier",
    "Delaunay",
    "Rousseau",
)
_LAB_NAME_FORMS = (
    "Laboratoire de biologie médicale {town}",
    "LBM {surname} {town}",
    "Bio{short}",
    "SELAS Biolab {town}",
    "Laboratoire {surname}-{surname2}",
    "SELAS Bio {region_word}",
    "Centre de biologie {town} {district}",
    "Laboratoire d'analyses médicales {surname}",
    "Biopôle {town}",
    "SELARL {surname} et associés",
)
_REGION_WORDS = {"35": "Armor", "29": "Iroise", "56": "Atlantique", "37": "Touraine",
                 "45": "Loire", "14": "Calvados"}  # fmt: skip
_DISTRICTS = ("Centre", "Nord", "Sud", "Gare", "Les Halles", "République", "Saint-Pierre")


def luhn_complete(digits: str) -> str:
    """``digits`` followed by its Luhn check digit (FINESS, SIREN and RPPS use the Luhn key)."""
    return digits + luhn.calc_check_digit(digits)


@dataclass(frozen=True)
class Lab:
    """One client lab of the vendor: a data controller."""

    controller_id: str
    name: str
    finess: str
    siren: str
    street: str
    commune: Commune
    postal_code: str
    dpo_email: str

    @property
    def departement(self) -> str:
        """The département the lab is in."""
        return self.commune.departement

    def area(self) -> tuple[str, ...]:
        """Where its patients live: its département first, then the neighbouring ones."""
        return (self.departement, *NEIGHBOURS.get(self.departement, ()))


@dataclass(frozen=True)
class Physician:
    """An attending physician: name and RPPS number."""

    first_name: str
    last_name: str
    rpps: str


@dataclass
class World:
    """Everything shared by all the persons of a synthetic leak."""

    labs: list[Lab]
    physicians: dict[str, list[Physician]]  # by département
    communes: dict[str, list[Commune]]  # by département: where patients live
    labs_serving: dict[str, list[int]]  # département -> indexes of labs whose area holds it
    first_names_male: tuple[str, ...]
    first_names_female: tuple[str, ...]
    last_names: tuple[str, ...]
    street_names: tuple[str, ...]


def _street_names(
    rng: random.Random, last_names: tuple[str, ...], first: tuple[str, ...]
) -> tuple[str, ...]:
    kinds = ("rue", "rue", "rue", "avenue", "boulevard", "impasse", "allée", "place", "chemin",
             "route", "square", "quai", "résidence")  # fmt: skip
    fixed = ("de la Gare", "Jean Jaurès", "Victor Hugo", "de la République", "des Lilas",
             "du Général de Gaulle", "Pasteur", "de la Mairie", "des Écoles", "du Moulin",
             "de Bretagne", "de Paris", "Jules Ferry", "Anatole France", "du Stade",
             "de l'Église", "des Tilleuls", "de la Paix", "Gambetta", "Saint-Michel")  # fmt: skip
    names = [f"{rng.choice(kinds)} {name}" for name in fixed for _ in range(3)]
    names += [f"{rng.choice(kinds)} {rng.choice(last_names)}" for _ in range(400)]
    names += [
        f"{rng.choice(kinds)} {rng.choice(first)} {rng.choice(last_names)}" for _ in range(400)
    ]
    return tuple(names)


def _town(geo: Referential, departement: str, name: str) -> Commune:
    wanted = normalise_commune_name(name)
    for commune in geo.communes_of_departement(departement):
        if normalise_commune_name(commune.name) == wanted:
            return commune
    raise LookupError(f"no commune {name!r} in département {departement}")


def _lab_name(rng: random.Random, town: str, departement: str, surnames: tuple[str, ...]) -> str:
    form = rng.choice(_LAB_NAME_FORMS)
    surname, surname2 = rng.sample(surnames, 2)
    parts = town.split("-")
    word = parts[-1] if parts[0] in ("Saint", "Sainte") else parts[0]
    short = word.replace("è", "e").replace("é", "e")[:6].capitalize()
    return form.format(
        town=town,
        surname=surname,
        surname2=surname2,
        short=short,
        region_word=_REGION_WORDS.get(departement, "Ouest"),
        district=rng.choice(_DISTRICTS),
    )


def _email_word(text: str) -> str:
    return "".join(ch for ch in normalise_commune_name(text).lower() if ch.isalnum())


def build_world(geo: Referential, labs: int, seed: int) -> World:
    """Build the labs and pools of a synthetic leak, deterministically from ``seed``."""
    from faker.providers.person.fr_FR import Provider as FrenchNames

    rng = random.Random(f"world:{seed}")
    last_names = tuple(FrenchNames.last_names) + REGIONAL_SURNAMES
    first_male = tuple(FrenchNames.first_names_male)
    first_female = tuple(FrenchNames.first_names_female)
    departements = list(LAB_TOWNS)
    lab_list: list[Lab] = []
    used_names: set[str] = set()
    for index in range(labs):
        departement = departements[index % len(departements)]
        towns = LAB_TOWNS[departement]
        town = _town(geo, departement, towns[(index // len(departements)) % len(towns)])
        name = _lab_name(rng, town.name, departement, last_names)
        while name in used_names:  # two labs with one name would make attribution moot
            name = _lab_name(rng, town.name, departement, last_names)
        used_names.add(name)
        finess = luhn_complete(f"{departement}{rng.randrange(10**6):06d}")
        siren = luhn_complete(f"{rng.randrange(3 * 10**7, 9 * 10**7):08d}")
        number = rng.randint(1, 120)
        street = f"{number} {rng.choice(('rue', 'avenue', 'boulevard', 'place'))} "
        street += rng.choice(("de la Gare", "Jean Jaurès", "Pasteur", "de la République",
                              "du Maréchal Foch", "Gambetta", "Victor Hugo"))  # fmt: skip
        domain = _email_word(name)[:40] or f"labo{index}"
        lab_list.append(
            Lab(
                controller_id=f"LAB{index + 1:02d}",
                name=name,
                finess=finess,
                siren=siren,
                street=street,
                commune=town,
                postal_code=rng.choice(town.postal_codes),
                dpo_email=f"dpo@{domain}.fr",
            )
        )
    communes: dict[str, list[Commune]] = {}
    labs_serving: dict[str, list[int]] = {}
    for index, lab in enumerate(lab_list):
        for departement in lab.area():
            communes.setdefault(departement, geo.communes_of_departement(departement))
            labs_serving.setdefault(departement, []).append(index)
    physicians = {
        departement: [
            Physician(
                rng.choice(first_male + first_female),
                rng.choice(last_names),
                luhn_complete(f"10{rng.randrange(10**8):08d}"),
            )
            for _ in range(40)
        ]
        for departement in communes
    }
    return World(
        labs=lab_list,
        physicians=physicians,
        communes=communes,
        labs_serving=labs_serving,
        first_names_male=first_male,
        first_names_female=first_female,
        last_names=last_names,
        street_names=_street_names(rng, last_names, first_male + first_female),
    )
