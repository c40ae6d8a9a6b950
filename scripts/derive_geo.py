"""Derive Ariane's French geographic referential from the Etalab open data.

Runs offline on the unpacked npm tarball of ``@etalab/decoupage-administratif``:

    mkdir /tmp/geo && cd /tmp/geo
    npm pack @etalab/decoupage-administratif@6.0.0
    mkdir decoupage && tar xzf etalab-decoupage-administratif-6.0.0.tgz -C decoupage
    python scripts/derive_geo.py /tmp/geo/decoupage/package

and writes, into ``src/ariane/data/geo/`` (or ``--out DIR``):

- ``communes.csv.gz``: ``code,name,postal_code,departement,region``, one row per
  (commune, postal code) for current communes (``commune-actuelle``) and the municipal
  arrondissements of Paris, Lyon and Marseille;
- ``former_names.csv.gz``: ``name,code``: names of communes déléguées and associées (old
  communes merged into a current one), which addresses keep using for years;
- ``departements.csv``: ``code,name,region``; ``regions.csv``: ``code,name``.

Only that package is used: it carries La Poste's postal codes under the Licence Ouverte.
The ``codes-postaux`` package is left out on purpose: its README states the ODbL for La
Poste's data, whose share-alike clause would bind the derived table.
Output is sorted and gzip'd with a fixed mtime, so re-running gives identical bytes.
"""

from __future__ import annotations

import argparse
import csv
import gzip
import io
import json
from pathlib import Path

CURRENT_TYPES = ("commune-actuelle", "arrondissement-municipal")
FORMER_TYPES = ("commune-deleguee", "commune-associee")
DEFAULT_OUT = Path(__file__).resolve().parents[1] / "src" / "ariane" / "data" / "geo"


def _load(package: Path, name: str) -> list[dict[str, object]]:
    data = json.loads((package / "data" / name).read_text(encoding="utf-8"))
    assert isinstance(data, list), f"{name}: expected a JSON array"
    return data


def _write_gzip_csv(path: Path, header: list[str], rows: list[list[str]]) -> None:
    text = io.StringIO()
    writer = csv.writer(text, lineterminator="\n")
    writer.writerow(header)
    writer.writerows(rows)
    # mtime=0 and no file name in the gzip header keep the output byte-identical per run.
    with (
        open(path, "wb") as raw,
        gzip.GzipFile(filename="", mode="wb", fileobj=raw, mtime=0, compresslevel=9) as gz,
    ):
        gz.write(text.getvalue().encode("utf-8"))


def _write_csv(path: Path, header: list[str], rows: list[list[str]]) -> None:
    with open(path, "w", encoding="utf-8", newline="") as handle:
        writer = csv.writer(handle, lineterminator="\n")
        writer.writerow(header)
        writer.writerows(rows)


def derive(package: Path, out: Path) -> dict[str, int]:
    """Write the referential tables from an unpacked decoupage-administratif package."""
    out.mkdir(parents=True, exist_ok=True)
    communes = _load(package, "communes.json")
    commune_rows: set[tuple[str, str, str, str, str]] = set()
    former_rows: set[tuple[str, str]] = set()
    current_names: dict[str, str] = {}
    for entry in communes:
        kind = entry.get("type")
        code, name = str(entry["code"]), str(entry["nom"])
        if kind in CURRENT_TYPES:
            current_names[code] = name
            postal_codes = entry.get("codesPostaux") or []
            assert isinstance(postal_codes, list)
            for postal_code in postal_codes:
                commune_rows.add(
                    (code, name, str(postal_code), str(entry["departement"]), str(entry["region"]))
                )
    for entry in communes:
        if entry.get("type") in FORMER_TYPES:
            parent = str(entry.get("chefLieu") or entry.get("commune") or "")
            name = str(entry["nom"])
            if parent in current_names and name != current_names[parent]:
                former_rows.add((name, parent))
    _write_gzip_csv(
        out / "communes.csv.gz",
        ["code", "name", "postal_code", "departement", "region"],
        [list(row) for row in sorted(commune_rows)],
    )
    _write_gzip_csv(
        out / "former_names.csv.gz", ["name", "code"], [list(r) for r in sorted(former_rows)]
    )
    departements = [
        [str(d["code"]), str(d["nom"]), str(d["region"])]
        for d in _load(package, "departements.json")
    ]
    _write_csv(out / "departements.csv", ["code", "name", "region"], sorted(departements))
    regions = [[str(r["code"]), str(r["nom"])] for r in _load(package, "regions.json")]
    _write_csv(out / "regions.csv", ["code", "name"], sorted(regions))
    return {
        "communes": len(commune_rows),
        "former_names": len(former_rows),
        "departements": len(departements),
        "regions": len(regions),
    }


def main() -> None:
    """Command-line entry: derive_geo.py PACKAGE_DIR [--out DIR]."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("package", type=Path, help="unpacked decoupage-administratif package/")
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT)
    args = parser.parse_args()
    counts = derive(args.package, args.out)
    print(", ".join(f"{name}: {count} rows" for name, count in counts.items()))


if __name__ == "__main__":
    main()
