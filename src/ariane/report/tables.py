"""Each controller's figures as a table a spreadsheet opens: ``controllers.csv`` and ``.xlsx``.

One row per controller: counts, persons per band, special categories, duties and its
clock. Counts only, never a person's data. The CSV is UTF-8 with a BOM and ``;`` between
fields, as French Excel reads it; the XLSX adds a sheet giving the report's provenance.
"""

from __future__ import annotations

import csv
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ariane.assess import enisa

if TYPE_CHECKING:
    from ariane.report.figures import CaseFigures, ControllerFigures

COLUMNS = (
    "controller_id", "name", "finess", "departement", "records", "persons",
    *(f"persons_{band}" for band in enisa.BANDS),
    "severity", "special_share", *(f"category_{c}" for c in enisa.CATEGORY_BITS),
    "minors", "notify_regulator", "notify_persons", "persons_to_notify",
    "informed_at", "deadline", "overdue", "notified_at",
)  # fmt: skip


def rows(figures: CaseFigures) -> list[list[Any]]:
    """One row per controller, in :data:`COLUMNS` order (ISO 8601 instants, '' unknown)."""
    return [_row(c) for c in figures.controllers]


def _row(c: ControllerFigures) -> list[Any]:
    clock = c.clock

    def iso(name: str) -> str:
        moment = getattr(clock, name, None) if clock else None
        return moment.isoformat() if moment else ""

    return [
        c.controller_id, c.name, c.finess, c.departement, c.records, c.persons,
        *(c.bands.get(band, 0) for band in enisa.BANDS),
        c.severity or "", c.special_share if c.special_share is not None else "",
        *(c.categories.get(name, 0) for name in enisa.CATEGORY_BITS),
        c.minors, c.notify_regulator, c.notify_persons, c.persons_to_notify,
        iso("informed_at"), iso("deadline"), bool(clock and clock.overdue), iso("notified_at"),
    ]  # fmt: skip


def write_tables(figures: CaseFigures, out_dir: Path, provenance: dict[str, Any]) -> list[Path]:
    """Write ``controllers.csv`` and ``controllers.xlsx`` into ``out_dir``."""
    import xlsxwriter  # here: only reports need it

    table = rows(figures)
    csv_path = out_dir / "controllers.csv"
    with open(csv_path, "w", encoding="utf-8-sig", newline="") as handle:
        writer = csv.writer(handle, delimiter=";")
        writer.writerow(COLUMNS)
        writer.writerows(table)
    xlsx_path = out_dir / "controllers.xlsx"
    book = xlsxwriter.Workbook(str(xlsx_path), {"strings_to_formulas": False})
    try:
        sheet = book.add_worksheet("controllers")
        bold = book.add_format({"bold": True})
        sheet.write_row(0, 0, COLUMNS, bold)
        for number, row in enumerate(table, start=1):
            sheet.write_row(number, 0, row)
        sheet.freeze_panes(1, 2)
        about = book.add_worksheet("provenance")
        for number, (key, value) in enumerate(provenance.items()):
            about.write(number, 0, key, bold)
            if key == "inputs":
                value = "; ".join(f"{i['name']} {i['sha256']}" for i in value)
            about.write(number, 1, "" if value is None else value)
    finally:
        book.close()
    return [csv_path, xlsx_path]
