"""HTML to PDF with WeasyPrint, imported only when PDFs are asked for.

WeasyPrint needs Pango from the system (Debian: ``libpango-1.0-0 libpangoft2-1.0-0``;
``libharfbuzz-subset0`` makes its font subsetting several times faster) and a font
(``fonts-dejavu-core``).

Laying out a page costs WeasyPrint about a tenth of a second of CPU, so a case with many
controllers renders its PDFs in worker processes (``python -m ariane.report.pdf``) fed
with the paths of HTML files as the main process writes them. Plain subprocesses, not
``multiprocessing``: nothing of the caller's process (its open case, its ``__main__``) is
forked or re-imported.
"""

from __future__ import annotations

import json
import logging
import os
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import IO, Any

from ariane.errors import ConfigError

_INSTALL = (
    "PDF reports need WeasyPrint and Pango: pip install 'weasyprint>=62' and "
    "apt-get install libpango-1.0-0 libpangoft2-1.0-0"
)


class PdfWriter:
    """Renders HTML documents to PDF files in this process."""

    def __init__(self) -> None:
        try:
            import weasyprint
            from weasyprint.text.fonts import FontConfiguration
        except (ImportError, OSError) as exc:
            # OSError: the Python package is there but the system's Pango is not.
            raise ConfigError(f"{_INSTALL} ({type(exc).__name__})") from None
        self._weasyprint: Any = weasyprint
        # Building the font configuration is slow: one per process, shared by documents.
        self._fonts = FontConfiguration()

    def write(self, html: str, target: Path) -> Path:
        """Render ``html`` (self-contained: inline CSS and SVG) to ``target``."""
        document = self._weasyprint.HTML(string=html, base_url=str(target.parent))
        document.write_pdf(target, font_config=self._fonts)
        return target


def default_workers() -> int:
    """Processes for PDFs: one per CPU, at most four (more buys little and costs memory)."""
    return max(1, min(4, os.cpu_count() or 1))


class PdfQueue:
    """HTML files to render as PDFs, by ``workers`` processes (1: in this process)."""

    def __init__(self, workers: int) -> None:
        self._local = PdfWriter() if workers <= 1 else None
        self._workers: list[tuple[subprocess.Popen[str], IO[bytes]]] = []
        self._queued: list[Path] = []
        if self._local is None:
            # Started now: they load WeasyPrint while the caller counts and writes HTML.
            for _ in range(workers):
                errors = tempfile.TemporaryFile()  # noqa: SIM115 - closed in finish or close
                worker = subprocess.Popen(
                    [sys.executable, "-m", "ariane.report.pdf"],
                    stdin=subprocess.PIPE,
                    stdout=subprocess.DEVNULL,
                    stderr=errors,
                    text=True,
                )
                self._workers.append((worker, errors))

    def submit(self, html_path: Path, target: Path) -> None:
        """Render the HTML file ``html_path`` to ``target`` (now, or in a worker)."""
        self._queued.append(target)
        if self._local is not None:
            self._local.write(html_path.read_text(encoding="utf-8"), target)
            return
        worker, _ = self._workers[(len(self._queued) - 1) % len(self._workers)]
        assert worker.stdin is not None
        worker.stdin.write(json.dumps([str(html_path), str(target)]) + "\n")
        worker.stdin.flush()

    def finish(self) -> list[Path]:
        """Wait for every PDF; return their paths in submission order."""
        failures = []
        for worker, errors in self._workers:
            assert worker.stdin is not None
            worker.stdin.close()
            if worker.wait() != 0:
                errors.seek(0)
                lines = errors.read().decode("utf-8", "replace").strip().splitlines()
                failures.append(lines[-1] if lines else f"exit code {worker.returncode}")
            errors.close()
        self._workers = []
        if failures:
            raise ConfigError(f"PDF rendering failed: {failures[0]}")
        return list(self._queued)

    def close(self) -> None:
        """Stop any worker still running (after an error in the caller)."""
        for worker, errors in self._workers:
            worker.kill()
            worker.wait()
            errors.close()
        self._workers = []


def main() -> int:
    """Worker: read ``[html_path, pdf_path]`` JSON lines on stdin, render each."""
    logging.getLogger("weasyprint").setLevel(logging.ERROR)
    try:
        writer = PdfWriter()
        for line in sys.stdin:
            html_path, target = json.loads(line)
            writer.write(Path(html_path).read_text(encoding="utf-8"), Path(target))
    except ConfigError as exc:
        print(exc, file=sys.stderr)
        return 2
    except Exception as exc:  # reported by the parent as the last stderr line
        print(f"{type(exc).__name__}: {exc}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
