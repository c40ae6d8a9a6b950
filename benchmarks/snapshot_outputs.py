"""Write every output of a whole run on a leak to a folder, to compare two versions of Ariane.

    PYTHONPATH=src .venv/bin/python benchmarks/snapshot_outputs.py LEAK_DIR OUT_DIR

``LEAK_DIR`` is what ``ariane synth --out LEAK_DIR`` wrote. Writes ``scan.json`` (the
``scan --json`` document), ``summary.json`` and, for every table of the case, its rows
sorted (``TABLE.txt``, small tables and the per-record ones) and a digest of them
(``tables.json``). Run it with two checkouts (``PYTHONPATH=/other/src``) and compare the
folders (``diff -r``): an optimisation must leave them the same, but for the times at
which facts were logged.
"""

from __future__ import annotations

import hashlib
import json
import sys
from pathlib import Path

from ariane import pipeline
from ariane.case import Case
from ariane.synth import AWARE_AT

#: Tables written whole whatever their size: the decisions per column and per record.
WHOLE = ("classify", "resolve_records", "attribute_records")


def main(leak_dir: Path, out: Path) -> None:
    """Scan, then run every stage on ``leak_dir``'s leak; write the outputs to ``out``."""
    out.mkdir(parents=True, exist_ok=True)
    leak = leak_dir / "leak.csv"
    options = pipeline.RunOptions([leak], registry=leak_dir / "registry.csv", aware_at=AWARE_AT)
    scan = pipeline.scan([leak])
    (out / "scan.json").write_text(json.dumps(scan.as_contract(), indent=1, sort_keys=True))
    with Case.ephemeral() as case:
        engine = case.engine()
        engine.execute("CREATE TABLE case_stages (stage VARCHAR, completed_at TIMESTAMPTZ)")
        engine.execute("CREATE TABLE case_facts (name VARCHAR, value VARCHAR)")
        engine.execute("INSERT INTO case_facts VALUES ('aware_at', ?)", [AWARE_AT.isoformat()])
        for stage, runner in pipeline.STAGES.items():
            runner(engine, options, case.directory, pipeline.SILENT)
            engine.execute("INSERT INTO case_stages VALUES (?, now())", [stage])
        document = pipeline.summarise(engine, now=AWARE_AT)
        (out / "summary.json").write_text(
            json.dumps(document, indent=1, sort_keys=True, default=str)
        )
        digests = {}
        for name in engine.tables():
            if name == "case_stages":  # times of the run
                continue
            rows = engine.fetch(f'SELECT * FROM "{name}" ORDER BY ALL')
            digests[name] = {
                "rows": len(rows),
                "sha256": hashlib.sha256(repr(rows).encode()).hexdigest(),
            }
            if name.startswith(WHOLE) or len(rows) < 5000:
                (out / f"{name}.txt").write_text("\n".join(map(repr, rows)))
        (out / "tables.json").write_text(json.dumps(digests, indent=1, sort_keys=True))


if __name__ == "__main__":
    main(Path(sys.argv[1]), Path(sys.argv[2]))
