"""Synthetic patients and the records a leak holds of them, duplicates and typos included.

A person is drawn once, then written as one record per visit. Later visits drift the way
real files drift: a letter swapped or dropped in a name, accents lost, a new phone, email
or address, empty fields. Records of one person can sit at several labs of its area.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from datetime import date, datetime, timedelta, timezone
from functools import lru_cache
from itertools import accumulate

from ariane.geo import Commune
from ariane.nir import make_nir
from ariane.synth.notes import Comments, draw_conditions, strip_accents, write_comments
from ariane.synth.world import MUTUELLES, Lab, Physician, World

LEAK_DAY = date(2021, 2, 1)
#: When the responder of the synthetic case became aware of the leak (for deadlines).
AWARE_AT = datetime(2021, 2, 23, 10, 0, tzinfo=timezone(timedelta(hours=1)))
# ABO + Rhesus frequencies in France (EFS).
BLOOD_GROUPS: tuple[tuple[str, str], ...] = (
    ("O", "+"), ("A", "+"), ("B", "+"), ("AB", "+"),
    ("O", "-"), ("A", "-"), ("B", "-"), ("AB", "-"),
)  # fmt: skip
_BLOOD_CUM = list(accumulate((36, 37, 9, 3, 6, 7, 1, 1)))
_BLOOD_STYLES = (
    lambda abo, rh: f"{abo}{rh}",
    lambda abo, rh: f"{abo} {'pos' if rh == '+' else 'neg'}",
    lambda abo, rh: f"{abo} Rh{rh}",
    lambda abo, rh: f"{abo} RH{rh}",
    lambda abo, rh: f"{abo} {'positif' if rh == '+' else 'négatif'}",
    lambda abo, rh: f"{abo}{'pos' if rh == '+' else 'nég'}",
)
# Ages of lab patients lean old; weights per decade of age from 0-9 to 90-99.
_AGE_DECADE_CUM = list(accumulate((6, 6, 8, 10, 11, 13, 15, 15, 11, 5)))
_ABROAD = ("352", "350", "351", "139", "127", "134", "109", "132", "341", "335", "216")
_OVERSEAS = ("971", "972", "973", "974", "976")
_MAIL_DOMAINS = ("orange.fr", "gmail.com", "wanadoo.fr", "free.fr", "laposte.net",
                 "hotmail.fr", "sfr.fr", "yahoo.fr", "outlook.fr", "neuf.fr")  # fmt: skip
_MAIL_CUM = list(accumulate((24, 26, 10, 10, 7, 9, 5, 4, 3, 2)))
_ASCII = str.maketrans({"'": "", " ": "", "-": ""})


@dataclass(frozen=True)
class FileStyle:
    """Per-file conventions, drawn from the seed: one export tool, one set of habits."""

    day_first: bool
    sex_codes: tuple[str, str]


@dataclass
class Person:
    """One patient, as the labs know them before any drift."""

    person_id: str
    sex: int
    first_name: str
    last_name: str
    birth: date
    nir: str
    street: str
    commune: Commune
    postal_code: str
    mobile: str
    landline: str
    email: str
    blood: int
    physician: Physician
    mutuelle: str
    home_lab: int
    conditions: tuple[str, ...]
    woman_of_age: bool


@dataclass(frozen=True)
class Record:
    """One row of the leak with its truth: whose it is, which lab, which categories."""

    person_id: str
    controller_id: str
    fields: list[str]  # the leak's columns but the record id, in COLUMN_KEYS order
    categories: tuple[str, ...]
    birth: date


@lru_cache(maxsize=4096)  # first and last names come from small pools
def _ascii_word(text: str) -> str:
    return strip_accents(text).lower().translate(_ASCII)


def _email(rng: random.Random, first: str, last: str, year: int) -> str:
    f, lst = _ascii_word(first), _ascii_word(last)
    pattern = rng.randrange(5)
    local = (
        f"{f}.{lst}",
        f"{f[0]}{lst}",
        f"{lst}.{f}{year % 100:02d}",
        f"{f}{lst}{rng.randint(1, 99)}",
        f"{f}_{lst}",
    )[pattern]
    domain = rng.choices(_MAIL_DOMAINS, cum_weights=_MAIL_CUM)[0]
    return f"{local}@{domain}"


def _phone_digits(rng: random.Random, prefix: str) -> str:
    return f"{prefix}{rng.randrange(10**8):08d}"


def format_phone(rng: random.Random, digits: str) -> str:
    """A French phone number in one of the ways people and tools write it."""
    pairs = [digits[i : i + 2] for i in range(0, 10, 2)]
    style = rng.randrange(10)
    if style < 4:
        return " ".join(pairs)
    if style < 7:
        return digits
    if style == 7:
        return "+33 " + digits[1] + " " + " ".join(pairs[1:])
    if style == 8:
        return "+33" + digits[1:]
    return ".".join(pairs)


def _typo(rng: random.Random, name: str) -> str:
    if len(name) < 4:
        return name
    kind = rng.randrange(4)
    i = rng.randrange(1, len(name) - 1)
    if kind == 0:  # adjacent letters swapped
        return name[:i] + name[i + 1] + name[i] + name[i + 2 :]
    if kind == 1:  # a letter dropped
        return name[:i] + name[i + 1 :]
    if kind == 2:  # a letter doubled
        return name[:i] + name[i] + name[i:]
    return strip_accents(name) if strip_accents(name) != name else name[:i] + name[i + 1 :]


class People:
    """Draws persons and writes their records, from a world and a file style."""

    def __init__(self, world: World, style: FileStyle, birth_places: dict[str, tuple[str, ...]]):
        self.world = world
        self.style = style
        self.birth_places = birth_places
        self.metro_departements = tuple(
            d for d in sorted(birth_places) if len(d) == 2 and d not in ("99",)
        )
        habits = [
            random.Random(f"lab-style:{lab.controller_id}:{lab.finess}") for lab in world.labs
        ]
        # Each lab's export habits: upper-case surnames, a blood-group spelling.
        self.lab_upper = [r.random() < 0.6 for r in habits]
        self.lab_blood_style = [r.randrange(len(_BLOOD_STYLES)) for r in habits]
        self.lab_name_variants = [_name_variants(lab) for lab in world.labs]
        self.first_visit = LEAK_DAY.toordinal() - 4 * 365

    def person(self, rng: random.Random, number: int) -> Person:
        """Draw person ``number``."""
        world = self.world
        home_lab = rng.randrange(len(world.labs))
        lab = world.labs[home_lab]
        sex = 1 if rng.random() < 0.46 else 2  # lab patients are more often women
        first_name = rng.choice(world.first_names_male if sex == 1 else world.first_names_female)
        if rng.random() < 0.04:  # compound first names
            other = rng.choice(world.first_names_male if sex == 1 else world.first_names_female)
            if other != first_name:
                first_name = f"{first_name}-{other}"
        last_name = rng.choice(world.last_names)
        if rng.random() < 0.03:
            last_name = f"{last_name}-{rng.choice(world.last_names)}"
        decade = rng.choices(range(10), cum_weights=_AGE_DECADE_CUM)[0]
        age = decade * 10 + rng.randrange(10)
        birth = date.fromordinal(LEAK_DAY.toordinal() - age * 365 - rng.randrange(365))
        commune = self._home(rng, lab)
        nir = self._nir(rng, sex, birth, commune.departement)
        mobile = _phone_digits(rng, rng.choice(("06", "07"))) if rng.random() < 0.85 else ""
        landline = _phone_digits(rng, "02") if rng.random() < 0.4 or not mobile else ""
        has_email = age >= 14 and rng.random() < 0.7
        email = _email(rng, first_name, last_name, birth.year) if has_email else ""
        woman_of_age = sex == 2 and 16 <= age <= 45
        return Person(
            person_id=f"P{number:08d}",
            sex=sex,
            first_name=first_name,
            last_name=last_name,
            birth=birth,
            nir=nir,
            street=f"{rng.randint(1, 150)} {rng.choice(world.street_names)}",
            commune=commune,
            postal_code=rng.choice(commune.postal_codes),
            mobile=mobile,
            landline=landline,
            email=email,
            blood=rng.choices(range(8), cum_weights=_BLOOD_CUM)[0],
            physician=rng.choice(world.physicians[commune.departement]),
            mutuelle=rng.choice(MUTUELLES),
            home_lab=home_lab,
            conditions=draw_conditions(rng, woman_of_age, age),
            woman_of_age=woman_of_age,
        )

    def _home(self, rng: random.Random, lab: Lab) -> Commune:
        if rng.random() < 0.3:
            return lab.commune
        area = lab.area()
        departement = area[0] if rng.random() < 0.85 else rng.choice(area[1:] or area)
        return rng.choice(self.world.communes[departement])

    def _nir(self, rng: random.Random, sex: int, birth: date, residence: str) -> str:
        roll = rng.random()
        if roll < 0.6:
            departement = residence
        elif roll < 0.88:
            departement = rng.choice(self.metro_departements)
        elif roll < 0.9:
            departement = rng.choice(("2A", "2B"))
        elif roll < 0.94:
            departement = rng.choice(_OVERSEAS)
        else:
            departement = "99"
        if departement == "99":
            place = rng.choice(_ABROAD)
        else:
            place = rng.choice(self.birth_places[departement])
        return make_nir(sex, birth.year, birth.month, departement, place, rng.randint(1, 999))

    def records(self, rng: random.Random, person: Person, visits: int) -> list[Record]:
        """The records of ``visits`` visits of a person; visits after the first drift."""
        world = self.world
        records = []
        serving = world.labs_serving[person.commune.departement]
        for visit in range(visits):
            lab_index = person.home_lab
            if visit and rng.random() < 0.25:
                lab_index = rng.choice(serving)
            lab = world.labs[lab_index]
            if visit:
                self._drift(rng, person)
            comments = write_comments(
                rng, person.conditions, person.woman_of_age, person.physician.last_name
            )
            records.append(self._record(rng, person, lab_index, lab, visit, comments))
        return records

    def _drift(self, rng: random.Random, person: Person) -> None:
        # Drift is kept on the person: a later visit starts from the latest state.
        if rng.random() < 0.08:
            person.mobile = _phone_digits(rng, rng.choice(("06", "07")))
        if rng.random() < 0.06 and person.email:
            person.email = _email(rng, person.first_name, person.last_name, person.birth.year)
        if rng.random() < 0.05:  # moved within the département
            person.commune = rng.choice(self.world.communes[person.commune.departement])
            person.postal_code = rng.choice(person.commune.postal_codes)
            person.street = f"{rng.randint(1, 150)} {rng.choice(self.world.street_names)}"

    def _record(
        self,
        rng: random.Random,
        person: Person,
        lab_index: int,
        lab: Lab,
        visit: int,
        comments: Comments,
    ) -> Record:
        random_ = rng.random
        last, first = person.last_name, person.first_name
        if visit and random_() < 0.12:
            last = _typo(rng, last)
        if visit and random_() < 0.06:
            first = _typo(rng, first)
        if random_() < 0.05:
            last, first = strip_accents(last), strip_accents(first)
        if self.lab_upper[lab_index]:
            last = last.upper()
        nir = person.nir if random_() > 0.02 else ""
        if nir and random_() < 0.04:
            nir = f"{nir[0]} {nir[1:3]} {nir[3:5]} {nir[5:7]} {nir[7:10]} {nir[10:13]} {nir[13:]}"
        phone_digits = person.mobile or person.landline
        if person.mobile and person.landline and random_() < 0.3:
            phone_digits = person.landline
        phone = format_phone(rng, phone_digits) if phone_digits and random_() > 0.05 else ""
        email = person.email if random_() > 0.1 else ""
        abo, rh = BLOOD_GROUPS[person.blood]
        blood_style = self.lab_blood_style[lab_index]
        if random_() < 0.15:
            blood_style = rng.randrange(len(_BLOOD_STYLES))
        blood = _BLOOD_STYLES[blood_style](abo, rh) if random_() > 0.1 else ""
        doctor = person.physician
        physician = _physician_name(rng, doctor) if random_() > 0.05 else ""
        rpps = doctor.rpps if physician and random_() > 0.1 else ""
        mutuelle = person.mutuelle if random_() > 0.1 else ""
        if mutuelle and random_() < 0.1:
            mutuelle = mutuelle.upper().replace("MUTUELLE", "MUT.")
        visit_day = date.fromordinal(self.first_visit + rng.randrange(4 * 365))
        city = person.commune.name
        roll = random_()
        if roll < 0.3:
            city = city.upper()
        elif roll < 0.4:
            city = strip_accents(city).upper().replace("-", " ").replace("SAINT ", "ST ")
        variants = self.lab_name_variants[lab_index]
        lab_name = variants[0] if random_() < 0.7 else rng.choice(variants)
        finess = lab.finess
        roll = random_()
        if roll < 0.07:
            finess = ""
        elif roll < 0.1:
            finess = f"{finess[:2]} {finess[2:5]} {finess[5:8]} {finess[8]}"
        fields = [
            nir,
            last,
            first,
            self.style.sex_codes[person.sex - 1] if random_() > 0.02 else "",
            self._day(person.birth),
            person.street if random_() > 0.03 else "",
            person.postal_code,
            city,
            phone,
            email,
            blood,
            physician,
            rpps,
            mutuelle,
            self._day(visit_day),
            comments.first,
            comments.second,
            lab_name,
            finess,
        ]
        return Record(
            person.person_id, lab.controller_id, fields, comments.categories, person.birth
        )

    def _day(self, day: date) -> str:
        if self.style.day_first:
            return f"{day.day:02d}/{day.month:02d}/{day.year}"
        return f"{day.year}-{day.month:02d}-{day.day:02d}"


def _physician_name(rng: random.Random, doctor: Physician) -> str:
    style = rng.randrange(6)
    if style < 2:
        return f"Dr {doctor.first_name} {doctor.last_name.upper()}"
    if style == 2:
        return f"Dr {doctor.last_name}"
    if style == 3:
        return f"Docteur {doctor.last_name}"
    if style == 4:
        return f"{doctor.last_name.upper()} {doctor.first_name}"
    return f"DR {doctor.last_name.upper()}"


def _name_variants(lab: Lab) -> list[str]:
    """Ways the export wrote a lab's name: as registered, shouted, abbreviated, mistyped."""
    name = lab.name
    variants = [name, name.upper()]
    short = (
        name.replace("Laboratoire de biologie médicale", "LBM")
        .replace("Laboratoire d'analyses médicales", "LAM")
        .replace("Laboratoire", "Labo")
        .replace("SELAS ", "")
        .replace("SELARL ", "")
    )
    if short != name:
        variants.append(short)
    variants.append(strip_accents(name).lower())
    variants.append(_typo(random.Random(name), name))
    return variants
