"""HPRIM Santé and HPRIM Net: one record per patient, results folded, damage quarantined."""

from ariane.case import Case
from ariane.read import load
from ariane.read.delimited import MAX_RECORD_BYTES
from ariane.read.sniff import sniff_format
from hl7_messages import LABS, people
from measure import (
    assert_linear,
    assert_linear_steps,
    linear_sizes,
    loading_seconds,
    reading_steps,
)


def _read(path):
    with Case.ephemeral() as case:
        engine = case.engine()
        (source,) = load(engine, [path]).sources
        rows = engine.fetch_arrow(f"SELECT * FROM {source.data_table} ORDER BY _record").to_pylist()
        reasons = [r for (r,) in engine.fetch("SELECT reason FROM read_quarantine ORDER BY record")]
    return source, rows, reasons


def _sante(persons):
    finess, lab = LABS[0]
    lines = [
        f"H|~^\\&|M1||{finess}^{lab}|1 rue X^^Rennes^^35000|ORU|0299000000"
        "||DR1^Dr Dupont||P|H2.2^C|20240105"
    ]
    for i, p in enumerate(persons, start=1):
        lines += [
            f"P|{i}|PAT{p.number}|L{p.number}||{p.family}^{p.given}||{p.birth}|{p.sex}||{p.street}^^{p.city}^^{p.postal_code}||{p.phone}",
            "OBR|1|D1|E1||^^^BIO^Bilan|||20240104",
            "OBX|1|CE|HIV^S\\XC3A9\\rologie VIH^L||POS^Positif|||A"
            if p.hiv
            else "OBX|1|NM|GLY^Glyc\\XC3A9\\mie^L||5.2|mmol/l|3.9-6.1|N",
            "C|1|L|Contr",
            "A|ôle",
        ]
    lines.append("L|1|||1")
    return "\r\n".join(lines) + "\r\n"


def test_hprim_sante_one_record_per_patient(tmp_path):
    persons = people(4)
    path = tmp_path / "results.txt"
    path.write_bytes(("stray line\r\n" + _sante(persons)).encode("cp1252"))
    source, rows, reasons = _read(path)
    assert source.format == "hprim"
    assert (source.rows, source.quarantined) == (4, 1)
    assert reasons == ["line outside any message"]
    first = rows[0]
    assert (first["p_family_name"], first["p_given_name"]) == (persons[0].family, persons[0].given)
    assert first["p_postal_code"] == persons[0].postal_code
    assert first["h_sending_code"] == LABS[0][0]
    assert first["obx_results"] == "HIV Sérologie VIH = Positif (A)"
    assert first["comments"] == "Contrôle"  # the A line goes on with the C line
    assert rows[1]["obx_results"] == "GLY Glycémie = 5.2 mmol/l (N)"


def _net(p, *, header_lines=12):
    header = [
        f"PAT{p.number}",
        p.family,
        p.given,
        p.street,
        "",
        f"{p.postal_code} {p.city}",
        f"{p.birth[6:]}/{p.birth[4:6]}/{p.birth[:4]}",
        p.nir,
        "D1",
        "05/01/2024",
        "DUP",
        "Dr DUPONT",
    ]
    lines = header[:header_lines] + [
        "Compte rendu de sérologie",
        "****LAB****",
        "RES|Sérologie VIH|HIV|A|"
        + ("Positif" if p.hiv else "Négatif")
        + "||||"
        + ("A" if p.hiv else ""),
        "****FINLAB****",
        "****FIN****",
    ]
    return "\r\n".join(lines) + "\r\n"


def test_hprim_net_reports(tmp_path):
    persons = people(3)
    text = (
        _net(persons[0])
        + _net(persons[1], header_lines=4)
        + _net(persons[2])
        + "****FINFICHIER****\r\n"
    )
    path = tmp_path / "hprim.hpr"
    path.write_bytes(text.encode("cp1252"))
    source, rows, reasons = _read(path)
    assert (source.rows, source.quarantined) == (2, 1)
    assert reasons == ["report cut short: fewer than 12 header lines"]
    assert [r["hprim_nir"] for r in rows] == [persons[0].nir, persons[2].nir]
    place = (rows[0]["hprim_postal_code"], rows[0]["hprim_city"])
    assert place == (persons[0].postal_code, persons[0].city)
    assert "hprim_address_2" not in rows[0] or rows[0]["hprim_address_2"] is None
    assert rows[0]["hprim_results"] == "HIV Sérologie VIH = Positif (A)"
    assert rows[0]["hprim_report_text"] == "Compte rendu de sérologie"


def _net_message(persons, lab):
    """An HPRIM Net 2.x message: the H record naming its sender (the lab: FINESS^name)
    and receiver, the reports, the L record ending it."""
    finess, name = LABS[lab]
    header = (
        f"H|~^\\&|NET{lab}.HPR||{finess}^{name}|1 rue X^^Rennes^^35000|ORU|0299000000"
        "||DR1^Dr Dupont||P|H2.2^C|20240105"
    )
    return header + "\r\n" + "".join(_net(p) for p in persons) + f"L|1|||{len(persons)}\r\n"


def _net_file(persons):
    """One message per lab, each holding the reports of its patients."""
    return "".join(
        _net_message([p for p in persons if p.lab == lab], lab) for lab in range(len(LABS))
    )


def test_hprim_net_names_its_lab_from_the_h_record(tmp_path):
    persons = people(6)
    path = tmp_path / "net.hpr"
    path.write_bytes((_net_file(persons) + "****FINFICHIER****\r\n").encode("cp1252"))
    source, rows, reasons = _read(path)
    assert (source.rows, source.quarantined, reasons) == (len(persons), 0, [])
    by_lab = sorted(persons, key=lambda p: p.lab)  # the messages are written lab by lab
    assert [r["hprim_nir"] for r in rows] == [p.nir for p in by_lab]
    assert [r["h_sending_code"] for r in rows] == [LABS[p.lab][0] for p in by_lab]
    assert [r["h_sending_lab"] for r in rows] == [LABS[p.lab][1] for p in by_lab]
    assert {r["h_receiving_doctor"] for r in rows} == {"Dr Dupont"}
    assert rows[0]["hprim_results"] == (
        "HIV Sérologie VIH = Positif (A)" if by_lab[0].hiv else "HIV Sérologie VIH = Négatif"
    )


def test_run_attributes_hprim_net_reports_to_the_lab_that_sent_them(tmp_path):
    import json

    from typer.testing import CliRunner

    from ariane.cli import app
    from hl7_messages import REGISTRY

    persons = people(40)
    path = tmp_path / "net.hpr"
    path.write_bytes(_net_file(persons).encode("cp1252"))
    (tmp_path / "registry.csv").write_text(REGISTRY, encoding="utf-8")
    runner = CliRunner()
    case = tmp_path / "case"
    arguments = ["run", str(path), "--case", str(case), "--quiet"]
    result = runner.invoke(app, [*arguments, "--registry", str(tmp_path / "registry.csv")])
    assert result.exit_code == 0, result.output
    found = json.loads(runner.invoke(app, ["summary", str(case), "--json"]).stdout)
    assert (found["rows"], found["quarantined"]) == (len(persons), 0)
    assert found["persons"] == len(persons)
    records = {c["controller_id"]: c["records"] for c in found["controllers"]}
    per_lab = [sum(1 for p in persons if p.lab == n) for n in range(len(LABS))]
    assert records == {"LAB01": per_lab[0], "LAB02": per_lab[1]}
    assert found["unattributed_records"] == 0


def test_sniffed_from_content():
    assert sniff_format(b"H|~^\\&|M1||X\r\nP|1|A\r\n") == "hprim"
    assert (
        sniff_format(b"PAT1\r\nMARTIN\r\nJeanne\r\n****LAB****\r\nRES|a|b\r\n****FIN****\r\n")
        == "hprim"
    )
    assert sniff_format(b"H|name|age\nx|y|1\n") == "delimited"


def test_delimiters_a_lab_declares_are_its_own(tmp_path):
    # The H record declares the delimiters: ASTM's ``\^&``, a lab's ``!^\&``.
    import hostile_leaks

    assert sniff_format(b"H|\\^&|M1||X\r\nP|1|A\r\n") == "hprim"
    assert sniff_format(b"H|!^\\&|M1||X\nP|1|A\n") == "hprim"
    built = hostile_leaks.hprim_two_labs(tmp_path)
    source, rows, reasons = _read(built.files[0])
    assert (source.format, source.rows, source.quarantined) == ("hprim", built.rows, 0)
    assert reasons == []
    assert all(row["p_family_name"] and row["p_birth_date"] for row in rows)


def _files(folder, n):
    paths = []
    for size in linear_sizes(n):
        paths.append(folder / f"{size}.hpr")
        paths[-1].write_bytes(_sante(people(size)).encode("cp1252"))
    return paths


def test_reading_time_grows_linearly(tmp_path):
    paths = _files(tmp_path, 3000)  # large enough that CPU time is a steady signal
    times, summaries = loading_seconds(paths)
    assert [s.rows for s in summaries] == list(linear_sizes(3000))
    assert_linear(times, lambda: loading_seconds(paths)[0])


def test_reading_steps_grow_linearly(tmp_path):
    paths = _files(tmp_path, 600)
    steps, summaries = reading_steps(paths)
    assert [s.rows for s in summaries] == list(linear_sizes(600))
    assert_linear_steps(steps)


def test_a_patient_past_the_limit_is_quarantined_in_bounded_memory(tmp_path):
    """Continuation lines that never end make a record too long: kept aside, not held."""
    persons = people(2)
    text = _sante(persons)
    endless = "A|" + "x" * 60_000 + "\r\n"
    first_patient_end = text.index("\r\nP|2|") + 2
    count = MAX_RECORD_BYTES // 60_000 + 2
    path = tmp_path / "long.hpr"
    path.write_bytes(
        (text[:first_patient_end] + endless * count + text[first_patient_end:]).encode()
    )
    source, rows, reasons = _read(path)
    assert (source.rows, source.quarantined) == (1, 1)
    assert reasons[0].startswith("longer than the limit")
    assert rows[0]["p_family_name"] == persons[1].family
