"""Starting Spark for Ariane: what must be present, and the settings that matter.

One SparkContext per process, on one master (Spark allows no more): the first case a
process opens on Spark starts it, the next ones share it, each in a session of its own;
another master asked for by name is refused in one line. Before it starts,
three things are checked so that a missing piece is one clear line rather than a Java
stack: PySpark (the ``spark`` extra), Java, and, for a ``spark://`` master, that it answers.
The driver's JVM logs nothing (``java/log4j2.properties``) and its own output is discarded:
Ariane's stderr holds Ariane's lines only.

The session carries two jars, both from what is installed and nothing downloaded: Splink's
similarity functions (shipped in the splink wheel) and Ariane's Java classes, the Parquet
key client (``java/ArianeKmsClient.java``) and ``strip_accents`` (``java/StripAccents.java``),
compiled at start by Janino, the Java compiler Spark itself ships for its generated code:
no JDK and no build step needed, the source is the artefact.
Shuffle and spill files are encrypted (``spark.io.encryption.enabled``); Parquet files are
encrypted per column by the engine (:mod:`ariane.engine.spark`).
"""

from __future__ import annotations

import hashlib
import io
import logging
import os
import re
import shutil
import socket
import subprocess
import sys
import tempfile
import zipfile
from importlib import resources
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import urlparse

from ariane.errors import ConfigError

if TYPE_CHECKING:
    from pyspark.sql import SparkSession

DEFAULT_MASTER = "local[*]"
KMS_CLASS = "org.ariane.parquet.ArianeKmsClient"
KMS_SOURCE = "ArianeKmsClient.java"
STRIP_ACCENTS_CLASS = "org.ariane.spark.StripAccents"
#: Java sources compiled into Ariane's jar: the Parquet key client, DuckDB's strip_accents.
JAVA_SOURCES = (KMS_SOURCE, "StripAccents.java")
LOG_CONFIG = "log4j2.properties"
#: The JVM's own output (its warnings, Spark's start-up lines) goes nowhere: Ariane's
#: stderr holds Ariane's lines only, and nothing Spark logs can quote a value.
_QUIET = {"stdout": subprocess.DEVNULL, "stderr": subprocess.DEVNULL}
#: Few shuffle partitions on one machine, where Spark's 200 make thousands of tiny tasks.
#: A cluster keeps its own number: eight would be eight tasks however many executors.
SHUFFLE_PARTITIONS = 8


class EngineUnavailableError(ConfigError):
    """The Spark engine cannot start: the extra, Java or the master is missing."""


def require_pyspark() -> None:
    """Refuse clearly when the ``spark`` extra is not installed."""
    try:
        import pyspark  # noqa: F401
    except ImportError:
        raise EngineUnavailableError(
            "--engine spark needs PySpark: pip install 'ariane[spark]'"
        ) from None


def java_executable() -> str:
    """The ``java`` Spark will start, or a clear error when there is none."""
    home = os.environ.get("JAVA_HOME")
    if home and Path(home, "bin", "java").is_file():
        return str(Path(home, "bin", "java"))
    found = shutil.which("java")
    if found is None:
        raise EngineUnavailableError(
            "--engine spark needs Java 17 or later: install a JRE (e.g. apt install "
            "openjdk-17-jre-headless) or set JAVA_HOME"
        )
    return found


#: Spark's forms of a local master: local, local[N], local[*], local[N, RETRIES] and its
#: local-cluster[WORKERS, CORES, MEMORY].
_LOCAL_MASTER = re.compile(
    r"local(\[([1-9][0-9]*|\*)(\s*,\s*[0-9]+)?\])?|local-cluster\[[0-9]+(\s*,\s*[0-9]+){2}\]"
)


def check_master(master: str, timeout: float = 5.0) -> None:
    """Refuse an unusable master URL; for ``spark://host:port``, one that does not answer."""
    if master.startswith("local"):
        if not _LOCAL_MASTER.fullmatch(master):
            raise EngineUnavailableError(
                f"--spark-master {master!r}: expected local, local[N], local[*] or local[N,RETRIES]"
            )
        return
    parsed = urlparse(master)
    if parsed.scheme not in {"spark", "yarn", "k8s", "mesos"} and master != "yarn":
        raise EngineUnavailableError(
            f"--spark-master {master!r}: expected local[N], spark://HOST:PORT, yarn or k8s://URL"
        )
    if parsed.scheme != "spark":
        return  # YARN and Kubernetes are reached through spark-submit's own configuration
    for location in parsed.netloc.split(","):
        host, _, port = location.partition(":")
        try:
            with socket.create_connection((host, int(port or 7077)), timeout=timeout):
                return
        except (OSError, ValueError):
            continue
    raise EngineUnavailableError(f"--spark-master {master}: no Spark master answers there")


def similarity_jar() -> str:
    """Splink's jar of similarity functions (Jaro-Winkler, Damerau-Levenshtein...)."""
    from splink.backends.spark import similarity_jar_location

    return str(similarity_jar_location())


def _java_sources() -> dict[str, str]:
    folder = resources.files("ariane.engine").joinpath("java")
    return {name: folder.joinpath(name).read_text() for name in JAVA_SOURCES}


def _jar_cache() -> Path:
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(Path.home(), ".cache")
    return Path(base) / "ariane" / "spark"


def log_config() -> Path:
    """Ariane's log4j2 configuration for the driver (every logger off), as a plain file."""
    text = resources.files("ariane.engine").joinpath("java", LOG_CONFIG).read_text()
    digest = hashlib.sha256(text.encode()).hexdigest()[:16]
    path = _jar_cache() / f"log4j2-{digest}.properties"
    if not path.is_file():
        _write_aside(path, text.encode())
    return path


def _write_aside(path: Path, data: bytes) -> None:
    """Write aside then rename: two processes starting at once never read half a file."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, partial = tempfile.mkstemp(dir=path.parent, suffix=".part")
    with os.fdopen(fd, "wb") as handle:
        handle.write(data)
    os.replace(partial, path)


def kms_jar() -> Path:
    """The jar of Ariane's Java classes (the Parquet key client, strip_accents), compiled
    by Janino once per version of the sources and cached (``~/.cache/ariane/spark``); the
    first time, in a JVM of its own, since a jar must be on the driver's class path from
    its start."""
    sources = _java_sources()
    digest = hashlib.sha256("\0".join(sources.values()).encode()).hexdigest()[:16]
    jar = _jar_cache() / f"ariane-{digest}.jar"
    if jar.is_file():
        return jar
    from pyspark import SparkConf
    from pyspark.java_gateway import launch_gateway

    conf = SparkConf().set("spark.driver.extraJavaOptions", _java_options())
    gateway: Any = launch_gateway(conf, popen_kwargs=dict(_QUIET))
    classes: dict[str, bytes] = {}
    try:
        for name, source in sources.items():
            compiler = gateway.jvm.org.codehaus.janino.SimpleCompiler()
            compiler.cook(name, source)
            classes.update({str(k): bytes(v) for k, v in compiler.getBytecodes().items()})
    finally:
        gateway.shutdown()
        gateway.proc.terminate()
        gateway.proc.wait()
    packed = io.BytesIO()
    with zipfile.ZipFile(packed, "w") as archive:
        for name, code in classes.items():
            archive.writestr(name.replace(".", "/") + ".class", code)
    _write_aside(jar, packed.getvalue())
    return jar


def _java_options() -> str:
    return f"-Dlog4j2.configurationFile={log_config().as_uri()}"


def session_settings(master: str, local_dir: Path) -> dict[str, str]:
    """Spark settings for Ariane (the jars are added at start)."""
    settings = {
        "spark.master": master,
        "spark.app.name": "ariane",
        # No web UI, no console progress bar: Ariane draws its own progress.
        "spark.ui.enabled": "false",
        "spark.ui.showConsoleProgress": "false",
        "spark.eventLog.enabled": "false",
        "spark.sql.adaptive.enabled": "true",
        # Shuffle, spill and cached blocks written to local disks are encrypted.
        "spark.io.encryption.enabled": "true",
        "spark.io.encryption.keySizeBits": "256",
        "spark.local.dir": str(local_dir),
        "spark.sql.warehouse.dir": str(local_dir / "warehouse"),
        "spark.sql.session.timeZone": "UTC",
        "spark.sql.execution.arrow.pyspark.enabled": "true",
        # Spark's logs off from the JVM's start (its start-up lines included).
        "spark.driver.extraJavaOptions": _java_options(),
        # Parquet encryption: the crypto factory, Ariane's key client; keys set per case.
        "spark.hadoop.parquet.crypto.factory.class": (
            "org.apache.parquet.crypto.keytools.PropertiesDrivenCryptoFactory"
        ),
        "spark.hadoop.parquet.encryption.kms.client.class": KMS_CLASS,
    }
    if master.startswith("local"):
        settings["spark.sql.shuffle.partitions"] = str(SHUFFLE_PARTITIONS)
        settings["spark.default.parallelism"] = str(SHUFFLE_PARTITIONS)
        if not os.environ.get("SPARK_DRIVER_MEMORY"):
            # In local mode the driver's heap holds every task: Spark's 1 GiB default dies
            # at a few million rows (its JVM gone in the middle of the read).
            settings["spark.driver.memory"] = local_driver_memory()
        # Python workers run this interpreter, with this process's modules (on a cluster,
        # the cluster's configuration says which Python the executors run).
        settings["spark.pyspark.python"] = sys.executable
        settings["spark.executorEnv.PYTHONPATH"] = os.pathsep.join(
            os.path.abspath(p) for p in sys.path if p
        )
    return settings


def local_driver_memory() -> str:
    """A third of the machine's memory, from 1 to 16 GiB: the heap of a local Spark."""
    total = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
    return f"{max(1, min(16, total // 3 // 2**30))}g"


def spark_session(master: str | None = None) -> SparkSession:
    """The process's SparkSession: started on ``master`` (default ``local[*]``) on first
    use, then shared. Without a ``master``, the one already running serves (a process
    that opens several cases, as ``ariane serve``, opens each on its Spark); another
    ``master`` than the running one is refused in one line."""
    global _running
    if _running is not None and not _is_active(_running):
        _running = None  # stopped by its user: the next case starts Spark anew
    if _running is None:
        _running = _start(master or DEFAULT_MASTER)
    elif master is not None and master != _running.sparkContext.master:
        # Spark allows one SparkContext a process, on one master; stopping it would break
        # the cases open on it.
        raise EngineUnavailableError(
            f"--spark-master {master}: this process already runs Spark on "
            f"{_running.sparkContext.master}; one Spark master a process (run the other "
            "case in a new one)"
        )
    return _running


_running: SparkSession | None = None


def _is_active(session: SparkSession) -> bool:
    from pyspark import SparkContext

    return SparkContext._active_spark_context is session.sparkContext


def _start(master: str) -> SparkSession:
    require_pyspark()
    java_executable()
    check_master(master)
    os.environ.setdefault("SPARK_LOCAL_IP", "127.0.0.1")
    from pyspark import SparkConf, SparkContext
    from pyspark.java_gateway import launch_gateway
    from pyspark.sql import SparkSession

    running = SparkContext._active_spark_context
    if running is not None:
        # Started by the program that calls Ariane: Ariane's settings (its key client,
        # its quiet logs) are not in it.
        raise EngineUnavailableError(
            f"--spark-master {master}: this process already runs a Spark of its own on "
            f"{running.master}; one Spark master a process (run the case in a new one)"
        )
    local_dir = Path(tempfile.mkdtemp(prefix="ariane-spark-"))
    os.chmod(local_dir, 0o700)
    conf = SparkConf()
    for name, value in session_settings(master, local_dir).items():
        conf.set(name, value)
    try:
        conf.set("spark.jars", f"{similarity_jar()},{kms_jar()}")
        gateway = launch_gateway(conf, popen_kwargs=dict(_QUIET))
        context = SparkContext(conf=conf, gateway=gateway)
    except Exception as exc:  # Py4J and Spark raise plain exceptions when the JVM fails
        raise EngineUnavailableError(
            f"Spark did not start on {master} ({type(exc).__name__}); check Java and the master"
        ) from None
    # Spark's error logs quote the failing value and query: nothing of them may reach a log
    # (the JVM's, nor PySpark's own logger of failed queries).
    context.setLogLevel("OFF")
    logging.getLogger("SQLQueryContextLogger").disabled = True
    return SparkSession(context)


def local_dir(session: SparkSession) -> Path:
    """Where this session's shuffle and spill files go (to check they hold nothing plain)."""
    return Path(str(session.conf.get("spark.local.dir")))
