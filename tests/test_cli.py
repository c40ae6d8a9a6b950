"""The command line: thin, safe errors, exit codes."""

import json
import os
import signal
import tempfile
import time
from pathlib import Path

import pytest
from typer.testing import CliRunner

from ariane.case import Case
from ariane.cli import app

runner = CliRunner()


def test_help_lists_every_contract_command():
    result = runner.invoke(app, ["--help"])
    assert result.exit_code == 0
    for command in ("demo", "synth", "scan", "run", "summary", "report", "audit"):
        assert command in result.output


def test_missing_input_is_one_line_naming_the_file(tmp_path):
    missing = tmp_path / "nowhere.csv"
    result = runner.invoke(app, ["scan", str(missing)])
    assert result.exit_code == 2
    assert "nowhere.csv" in result.output
    assert "Traceback" not in result.output


def test_report_on_a_case_without_assessment_says_what_is_missing(tmp_path):
    with Case.create(tmp_path / "case") as case:
        case.engine().execute("CREATE TABLE case_stages (stage VARCHAR, completed_at TIMESTAMPTZ)")
        case.engine().execute("INSERT INTO case_stages VALUES ('read', now())")
    result = runner.invoke(app, ["report", str(tmp_path / "case")])
    assert result.exit_code == 4
    assert "no resolve, attribute, assess results" in result.output


def test_summary_of_a_folder_that_is_not_a_case(tmp_path):
    result = runner.invoke(app, ["summary", str(tmp_path)])
    assert result.exit_code == 3
    assert "not an Ariane case" in result.output


def test_bad_aware_at_is_refused_before_any_work(tmp_path):
    leak = tmp_path / "leak.csv"
    leak.write_text("a,b\n1,2\n")
    result = runner.invoke(
        app, ["run", str(leak), "--case", str(tmp_path / "case"), "--aware-at", "yesterday"]
    )
    assert result.exit_code == 2
    assert "--aware-at" in result.output
    assert not (tmp_path / "case").exists()


def test_scan_prints_a_table_per_file_and_json_on_request(tmp_path):
    leak = tmp_path / "patients.csv"
    leak.write_text(
        "nom;prenom;email\n"
        + "".join(f"NOM{i};Prenom{i};p{i}@example.invalid\n" for i in range(30)),
        encoding="utf-8",
    )
    table = runner.invoke(app, ["scan", str(leak), "-q"])
    assert table.exit_code == 0, table.output
    assert "30 rows read, 0 quarantined" in table.output
    assert "Columns of" in table.output and "contact.email" in table.output
    document = runner.invoke(app, ["scan", str(leak), "--json"])
    assert document.exit_code == 0
    parsed = json.loads(document.stdout)
    assert parsed["rows"] + parsed["quarantined"] == 30
    assert {c["name"]: c["label"] for c in parsed["columns"]}["email"] == "contact.email"


# -- hostile names: whatever a leak's author wrote is shown inert ----------------------------

#: Rich markup that crashed the renderer, escapes that retitle the window and clear the
#: screen, a bidi override, and a newline that forges a second error line.
HOSTILE = "p[/]x[bold]\x1b[2J\x1b]0;owned\x07\u202e\nerror: forged"
RAW = ("\x1b", "\x07", "\u202e", "\u0085")


def _assert_inert(output: str) -> None:
    """Nothing a terminal would obey, no traceback, no forged error line."""
    for raw in RAW:
        assert raw not in output, repr(raw)
    assert "Traceback" not in output
    assert not any(line.startswith("error: forged") for line in output.splitlines())


def _one_error_line(result, label: str = "error:") -> str:
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert len(lines) == 1, lines
    assert lines[0].startswith(label), lines
    return lines[0]


def test_markup_and_escapes_in_a_header_are_shown_inert(tmp_path):
    leak = tmp_path / "leak.csv"
    header = ["nom[/]", "[bold]prenom", "mail\x1b]0;owned\x07", "x\x1b[2J\u202e"]
    leak.write_text(
        ",".join(header)
        + "\n"
        + "".join(f"N{i},P{i},p{i}@example.invalid,{i}\n" for i in range(20))
    )
    table = runner.invoke(app, ["scan", str(leak), "-q"])
    assert table.exit_code == 0, table.output
    _assert_inert(table.output)
    assert "nom[/]" in table.output  # shown as written, not interpreted
    document = runner.invoke(app, ["scan", str(leak), "--json"])
    assert document.exit_code == 0
    _assert_inert(document.stdout)
    assert json.loads(document.stdout)["rows"] == 20


def test_hostile_table_name_in_a_sql_dump(tmp_path):
    dump = tmp_path / "dump.sql"
    dump.write_text(
        f"CREATE TABLE `{HOSTILE}` (`nom` varchar(20), `prenom` varchar(20));\n"
        f"INSERT INTO `{HOSTILE}` VALUES ('DUPONT','Jean'),('MARTIN','Anne');\n"
    )
    result = runner.invoke(app, ["scan", str(dump), "-q"])
    assert result.exit_code == 0, result.output
    _assert_inert(result.output)
    assert "2 rows read" in result.output
    document = runner.invoke(app, ["scan", str(dump), "--json"])
    _assert_inert(document.stdout)
    assert json.loads(document.stdout)["files"][0]["table_name"] == HOSTILE  # JSON keeps it


def test_hostile_archive_member_name(tmp_path):
    import zipfile

    archive = tmp_path / "leak.zip"
    with zipfile.ZipFile(archive, "w") as handle:
        handle.writestr(f"NOM_{HOSTILE}.csv", "nom;prenom\nDUPONT;Jean\nMARTIN;Anne\n")
    result = runner.invoke(app, ["scan", str(archive), "-q"])
    assert result.exit_code == 0, result.output
    _assert_inert(result.output)
    assert "2 rows read" in result.output


def test_missing_file_with_a_hostile_name_is_one_inert_error_line(tmp_path):
    missing = tmp_path / f"{HOSTILE}.csv"
    result = runner.invoke(app, ["scan", str(missing)])
    assert result.exit_code == 2
    line = _one_error_line(result)
    _assert_inert(result.output)
    assert "file not found" in line and "\\x1b" in line and "\\x0a" in line


def test_undecodable_file_name_does_not_break_the_error_handler(tmp_path):
    # A name that is not UTF-8 reaches Python as lone surrogates, which a UTF-8 stream refuses.
    missing = tmp_path / b"\xff\xfe[/].csv".decode("utf-8", "surrogateescape")
    result = runner.invoke(app, ["scan", str(missing)])
    assert result.exit_code == 2
    assert "\\udcff" in _one_error_line(result)


def test_unexpected_failure_prints_its_type_only(tmp_path, monkeypatch):
    from ariane import pipeline

    secret = "DUPONT 1850535238012"

    def broken(*args, **kwargs):
        raise ValueError(f"row 3: {secret}")

    monkeypatch.setattr(pipeline, "scan", broken)
    result = runner.invoke(app, ["scan", str(tmp_path / "any.csv")])
    assert result.exit_code == 70
    assert _one_error_line(result, "internal error: ValueError")
    assert secret not in result.output and "Traceback" not in result.output


def test_a_failure_while_printing_is_caught_too(tmp_path, monkeypatch):
    import ariane.cli

    leak = tmp_path / "leak.csv"
    leak.write_text("a,b\n1,2\n")

    def broken(document):
        raise RuntimeError("printing failed on DUPONT")

    monkeypatch.setattr(ariane.cli, "_print_scan", broken)
    result = runner.invoke(app, ["scan", str(leak), "-q"])
    assert result.exit_code == 70
    assert "DUPONT" not in result.output and "Traceback" not in result.output


def test_hostile_lab_names_in_the_registry(tmp_path):
    from ariane.synth import generate

    generate(tmp_path / "leak", rows=400, labs=3, seed=3)
    registry = tmp_path / "leak" / "registry.csv"
    lines = registry.read_text(encoding="utf-8").splitlines()
    hostile = [lines[0]]
    for line in lines[1:]:
        fields = line.split(",")
        fields[1] = f"{fields[1]} [/][link=http://x]\x1b]0;owned\x07\x1b[2J\u202e"
        hostile.append(",".join(fields))
    registry.write_text("\n".join(hostile) + "\n", encoding="utf-8")
    case = tmp_path / "case"
    ran = runner.invoke(
        app,
        [
            "run",
            str(tmp_path / "leak" / "leak.csv"),
            "--case",
            str(case),
            "-q",
            "--registry",
            str(registry),
        ],
    )
    assert ran.exit_code == 0, ran.output
    _assert_inert(ran.output)
    shown = runner.invoke(app, ["summary", str(case)])
    assert shown.exit_code == 0, shown.output
    _assert_inert(shown.output)
    assert "[/][link=http://x]" in shown.output.replace("\n", "")
    document = runner.invoke(app, ["summary", str(case), "--json"])
    assert document.exit_code == 0
    _assert_inert(document.stdout)
    html = (case / "report" / "v1" / "index.html").read_text(encoding="utf-8")
    assert "\x1b" not in html and "[link=http://x]" in html  # autoescaped, not obeyed


# -- scratch folders of `scan`: removed when stopped, swept after a kill --------------------


def _start_scan(tmp_path, leak):
    import subprocess
    import sys

    import ariane

    source = str(Path(ariane.__file__).resolve().parents[1])
    env = {**os.environ, "TMPDIR": str(tmp_path / "tmp"), "PYTHONPATH": source}
    (tmp_path / "tmp").mkdir(exist_ok=True)
    process = subprocess.Popen(
        [sys.executable, "-c", "from ariane.cli import main; main()", "scan", str(leak), "-q"],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    root = tmp_path / "tmp" / f"ariane-{os.getuid()}"
    deadline = time.monotonic() + 120
    while not (root.exists() and any(root.iterdir())):
        assert process.poll() is None, process.communicate()
        assert time.monotonic() < deadline, "scan never made its scratch folder"
        time.sleep(0.05)
    return process, root


@pytest.fixture(scope="module")
def big_leak(tmp_path_factory):
    from ariane.synth import generate

    folder = tmp_path_factory.mktemp("big")
    generate(folder, rows=40_000, labs=3, seed=5)
    return folder / "leak.csv"


def test_sigterm_removes_the_scratch_folder(tmp_path, big_leak):
    process, root = _start_scan(tmp_path, big_leak)
    process.send_signal(signal.SIGTERM)
    _, stderr = process.communicate(timeout=120)
    assert process.returncode == 128 + signal.SIGTERM, stderr
    assert b"Traceback" not in stderr
    assert list(root.iterdir()) == []


def test_a_killed_scan_leaves_a_folder_the_next_start_removes(tmp_path, big_leak, monkeypatch):
    process, root = _start_scan(tmp_path, big_leak)
    process.kill()
    process.wait(timeout=60)
    left = list(root.iterdir())
    assert len(left) == 1  # SIGKILL cannot be caught: the folder stays...
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path / "tmp"))
    leak = tmp_path / "small.csv"
    leak.write_text("a,b\n1,2\n")
    result = runner.invoke(app, ["scan", str(leak), "-q"])
    assert result.exit_code == 0, result.output
    assert list(root.iterdir()) == []  # ...until the next scan sweeps it, and its own is gone


# -- the display policy itself ------------------------------------------------------------


@pytest.mark.parametrize(
    ("raw", "shown"),
    [
        ("plain é ü N°\u00a0dossier", "plain é ü N°\u00a0dossier"),  # printable text is kept
        ("a\nerror: b", "a\\x0aerror: b"),
        ("\x1b]0;owned\x07", "\\x1b]0;owned\\x07"),
        ("\x9b2J", "\\x9b2J"),  # C1 CSI: as good as ESC [ on some terminals
        ("abc\u202edcba", "abc\\u202edcba"),
        ("x\u2028y\u2029z", "x\\u2028y\\u2029z"),
        ("\udcff", "\\udcff"),
        ("\x7f", "\\x7f"),
    ],
)
def test_printable_makes_every_hidden_character_visible(raw, shown):
    from ariane.display import printable

    assert printable(raw) == shown


def test_markup_escaping_and_json_keep_the_value():
    from rich.console import Console

    from ariane.display import json_text, markup

    console = Console(record=True, width=200)
    console.print(f"[bold]{markup(HOSTILE)}[/]")
    assert "p[/]x[bold]\\x1b[2J" in console.export_text()
    document = {"name": HOSTILE + "\x85\udcff"}
    written = json_text(json.dumps(document, ensure_ascii=False))
    assert json.loads(written) == document
    _assert_inert(written)


def test_log_lines_are_inert():
    import io
    import logging

    from ariane.display import InertFormatter

    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(InertFormatter("%(levelname)s %(message)s"))
    logger = logging.getLogger("ariane.test.inert")
    logger.addHandler(handler)
    try:
        logger.warning("member %s skipped", HOSTILE)
    finally:
        logger.removeHandler(handler)
    assert stream.getvalue().count("\n") == 1
    _assert_inert(stream.getvalue())


def test_the_error_handler_survives_a_stderr_that_cannot_print(tmp_path, monkeypatch):
    import ariane.cli

    def refuses(*args, **kwargs):
        raise UnicodeEncodeError("ascii", "\u202e", 0, 1, "cannot encode")

    monkeypatch.setattr(ariane.cli.err, "print", refuses)
    result = runner.invoke(app, ["scan", str(tmp_path / f"{HOSTILE}.csv")])
    assert result.exit_code == 2  # the file's error code, not a crash of the handler
    assert isinstance(result.exception, SystemExit)


def test_out_of_memory_and_a_rust_panic_are_one_line(tmp_path, monkeypatch):
    from ariane import pipeline

    class PanicException(BaseException):  # what pyo3 raises for a Rust panic
        pass

    for raised, code, label in [
        (MemoryError(), 2, "error: out of memory (MemoryError)"),
        (PanicException("called `Option::unwrap()` on DUPONT"), 70, "internal error: Panic"),
    ]:

        def broken(*args, raised=raised, **kwargs):
            raise raised

        monkeypatch.setattr(pipeline, "scan", broken)
        result = runner.invoke(app, ["scan", str(tmp_path / "any.csv")])
        assert result.exit_code == code, result.output
        assert _one_error_line(result, label)
        assert "DUPONT" not in result.output and "Traceback" not in result.output


def test_a_library_error_raised_from_ours_is_reported_as_ours(tmp_path, monkeypatch):
    # Splink wraps the engine's out-of-memory error (and quotes the statement and values).
    from ariane import pipeline
    from ariane.engine.duckdb import OutOfMemory

    class SplinkException(Exception):
        pass

    def broken(*args, **kwargs):
        try:
            raise OutOfMemory("out of memory within the limit of 2.0 GiB: raise --memory-limit")
        except OutOfMemory as own:
            raise SplinkException("Error executing ... WHERE nom = 'DUPONT'") from own

    monkeypatch.setattr(pipeline, "scan", broken)
    result = runner.invoke(app, ["scan", str(tmp_path / "any.csv")])
    assert result.exit_code == 2, result.output
    assert _one_error_line(result, "error: out of memory within the limit of 2.0 GiB")
    assert "DUPONT" not in result.output and "Traceback" not in result.output


def test_no_hidden_character_escapes_the_quick_check():
    """The regex that picks characters for a closer look lets no hidden one through."""
    import unicodedata

    from ariane.display import printable

    hidden = {"Cc", "Cf", "Cs", "Co", "Cn", "Zl", "Zp"}
    missed = [
        hex(code)
        for code in range(0x110000)
        if unicodedata.category(chr(code)) in hidden and printable(chr(code)) == chr(code)
    ]
    assert missed == []
