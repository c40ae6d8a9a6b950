"""Derive the lookups labelling reads on every scan from the package's own reference data.

    PYTHONPATH=src python scripts/derive_lookups.py

writes, one value a line, sorted, gzip'd with a fixed mtime (re-running gives identical
bytes):

- ``src/ariane/data/geo/postal_codes.txt.gz``: every postal code of ``communes.csv.gz``;
- ``src/ariane/data/geo/commune_names.txt.gz``: the names of current and former communes,
  normalised by :func:`ariane.geo.normalise_commune_name`;
- ``src/ariane/data/names/first_names.txt.gz``: Faker's first names over
  :data:`ariane.names.NAME_LOCALES`, folded by :func:`ariane.classify.reference.fold`
  (names in other scripts than Latin fold to the empty word: kept, so that the set is
  exactly the one computed; no lookup asks for it).

Building them at run time cost ~0.25 s of CPU per scan (normalising 37,525 names, loading
the whole referential, importing Faker). ``tests/test_geo.py`` and
``tests/test_classify_validators.py`` prove each file equal to what the code computes from
its source: re-run this script when the tables, the normalisation or Faker change.
"""

from __future__ import annotations

import gzip
from collections.abc import Iterable
from pathlib import Path

from ariane import geo
from ariane.classify import reference
from ariane.names import faker_names

DATA = Path(__file__).resolve().parents[1] / "src" / "ariane" / "data"


def _write_lines(path: Path, values: Iterable[str]) -> int:
    lines = sorted(set(values))
    text = "".join(f"{line}\n" for line in lines)
    # mtime=0 and no file name in the gzip header keep the output byte-identical per run.
    with (
        open(path, "wb") as raw,
        gzip.GzipFile(filename="", mode="wb", fileobj=raw, mtime=0, compresslevel=9) as gz,
    ):
        gz.write(text.encode("utf-8"))
    return len(lines)


def main() -> None:
    """Write the three lookups and print how many values each holds."""
    places = geo.referential()
    names = [c.name for c in places.communes_by_code.values()] + list(places.former_names)
    counts = {
        geo.POSTAL_CODES_FILE: _write_lines(
            DATA / "geo" / geo.POSTAL_CODES_FILE, places.postal_codes()
        ),
        geo.COMMUNE_NAMES_FILE: _write_lines(
            DATA / "geo" / geo.COMMUNE_NAMES_FILE, map(geo.normalise_commune_name, names)
        ),
        reference.FIRST_NAMES_FILE: _write_lines(
            DATA / "names" / reference.FIRST_NAMES_FILE, map(reference.fold, faker_names()[0])
        ),
    }
    print(", ".join(f"{name}: {count} values" for name, count in counts.items()))


if __name__ == "__main__":
    main()
