"""Synthetic lab exchange messages built in code (HL7 v2, HPRIM, FHIR), with their truth.

Every person is made here (names from small lists, valid NIRs from ``make_nir``); the
labs are those of :data:`REGISTRY`. Each person has one or two messages (a second visit),
and every fifth one a positive HIV result, so the expected counts follow from how the
messages were built.
"""

from __future__ import annotations

from dataclasses import dataclass

from ariane.nir import make_nir

REGISTRY = """controller_id,name,finess,siren,address,postal_code,city,dpo_email
LAB01,Laboratoire de Biologie Médicale Rennes Centre,350000014,,1 rue X,35000,Rennes,dpo@a.fr
LAB02,Labo Analyses Saint-Malo,350000022,,2 rue Y,35400,Saint-Malo,
"""
LABS = [
    ("350000014", "Laboratoire de Biologie Médicale Rennes Centre"),
    ("350000022", "Labo Analyses Saint-Malo"),
]
FAMILY = [
    "MARTIN",
    "BERNARD",
    "THOMAS",
    "PETIT",
    "ROBERT",
    "RICHARD",
    "DURAND",
    "DUBOIS",
    "MOREAU",
    "LAURENT",
    "SIMON",
    "MICHEL",
    "LEFEBVRE",
]
GIVEN_F = ["Jeanne", "Marie", "Camille", "Louise", "Chloé", "Inès", "Léa"]
GIVEN_M = ["Paul", "Louis", "Hugo", "Jules", "Arthur", "Gabriel", "Noé"]
STREETS = ["rue de la Paix", "avenue Jean Jaurès", "boulevard Victor Hugo", "place du Marché"]


@dataclass
class Person:
    """One synthetic patient."""

    number: int
    family: str
    given: str
    sex: str
    birth: str  # YYYYMMDD
    nir: str
    street: str
    postal_code: str
    city: str
    phone: str
    lab: int  # index in LABS
    hiv: bool
    visits: int


def people(count: int) -> list[Person]:
    """``count`` distinct persons; every fifth has a positive HIV result."""
    out = []
    for i in range(count):
        female = i % 2 == 0
        year, month, day = 1940 + i % 60, 1 + i % 12, 1 + i % 28
        nir = make_nir(2 if female else 1, year, month, "35", f"{238 + i % 50:03d}", 1 + i)
        out.append(
            Person(
                number=i,
                family=FAMILY[(7 * i) % len(FAMILY)],
                given=(GIVEN_F if female else GIVEN_M)[i % 7],
                sex="F" if female else "M",
                birth=f"{year}{month:02d}{day:02d}",
                nir=nir,
                street=f"{1 + i % 90} {STREETS[i % len(STREETS)]}",
                postal_code="35000" if i % 3 else "35400",
                city="Rennes" if i % 3 else "Saint-Malo",
                phone=f"06{10000000 + 7919 * i:08d}",
                lab=i % 2,
                hiv=i % 5 == 0,
                visits=1 + i % 2,
            )
        )
    return out


def hl7_message(person: Person, visit: int, control: str) -> str:
    """An ORU^R01 message for one visit of a person (segments ended by CR)."""
    finess, lab = LABS[person.lab]
    result = (
        "OBX|1|CE|HIV^S\\XC3A9\\rologie VIH^L||POS^Positif^L|||A||F"
        if person.hiv
        else f"OBX|1|NM|GLU^Glucose^L||{4 + visit}.{person.number % 10}|mmol/L|3.9-6.1|N|||F"
    )
    segments = [
        f"MSH|^~\\&|SIL|{lab}^{finess}^FINESS|DPI|CH|2024010{1 + visit}103000"
        f"||ORU^R01^ORU_R01|{control}|P|2.5",
        f"PID|1||{person.nir}^^^ASIP-SANTE-INS-NIR&1.2.250.1.213.1.4.8&ISO^NH~P{person.number:05d}^^^LAB^PI"
        f"||{person.family}^{person.given}^^^^^L||{person.birth}|{person.sex}|||"
        f"{person.street}^^{person.city}^^{person.postal_code}^FRA||{person.phone}^PRN^CP",
        "PV1|1|O|||||10001234567^DUPONT^Pierre^^^Dr",
        f"ORC|RE||||||||||||||||||||{lab}^^^^^^FINEG^^^{finess}",
        "OBR|1||F1|BIO^Bilan biologique|||20240104",
        result,
        "NTE|1||Contr\\XC3B4\\le conseill\\E\\",
    ]
    return "\r".join(segments) + "\r"


def hl7_log(persons: list[Person], *, mllp: bool = False) -> tuple[bytes, int]:
    """A log of every visit of every person; and the number of messages in it."""
    parts = []
    for person in persons:
        for visit in range(person.visits):
            text = hl7_message(person, visit, f"M{person.number:05d}{visit}")
            parts.append(b"\x0b" + text.encode() + b"\x1c\r" if mllp else text.encode())
    return b"".join(parts) if mllp else b"\n".join(parts), len(parts)


def hl7_merge(person: Person, merged: str, control: str) -> str:
    """An ADT^A40 message (merge patient, patient identifier list) in HL7 v2.5: the
    record whose identifier is ``merged`` (a CX, ``id^^^authority^type``: MRG-1, the
    prior patient identifier list) was merged into ``person``'s (PID-3, its patient
    number in the lab's system, as :func:`hl7_message` writes it)."""
    finess, lab = LABS[person.lab]
    segments = [
        f"MSH|^~\\&|SIL|{lab}^{finess}^FINESS|DPI|CH|20240301090000"
        f"||ADT^A40^ADT_A39|{control}|P|2.5",
        "EVN|A40|20240301090000",
        f"PID|1||P{person.number:05d}^^^LAB^PI||{person.family}^{person.given}^^^^^L"
        f"||{person.birth}|{person.sex}",
        f"MRG|{merged}^^^LAB^PI",
    ]
    return "\r".join(segments) + "\r"
