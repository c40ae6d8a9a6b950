"""The Spark engine: the same stages on PySpark when a leak outgrows one machine.

Tables are Parquet folders, encrypted with Parquet modular encryption: the footer and
every column, each top-level column under a master key of its own derived from the case's
key (:mod:`ariane.engine.sparksession` builds the key client); a column whose name Parquet
cannot list (a dot, a comma...) and nested ones are encrypted under the footer's key.
Stored tables live in the case's ``store/`` folder; temporary ones in its scratch folder,
removed at close. Each table is exposed to SQL as a view over its current Parquet generation::

    store/<table>/g000003/part-*.parquet    (a rewrite makes g000004, then drops g000003)

The stages' SQL (DuckDB dialect) is transpiled by :mod:`ariane.engine.sparksql`; statements
that change tables are carried out here, on the Parquet files.
"""

from __future__ import annotations

import hashlib
import re
import shutil
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any

from sqlglot import exp

from ariane.engine import sparksql
from ariane.engine.sparksession import STRIP_ACCENTS_CLASS, EngineUnavailableError, spark_session
from ariane.errors import CaseError, CaseKeyError

if TYPE_CHECKING:
    import pyarrow as pa
    from pyspark.sql import DataFrame, SparkSession

#: Names Parquet cannot list in ``parquet.encryption.column.keys``: it splits the list on
#: ``;``, ``:`` and ``,``, trims each name (Java's trim: anything up to a space) and reads a
#: dot as a nested path ("patient.ssn", a flattened JSON key, is no column of the file).
#: Such a column is encrypted under the footer key instead of a key of its own.
_UNLISTABLE = re.compile(r"[,;:.]|^[\x00-\x20]|[\x00-\x20]$|^$")
_GENERATION = re.compile(r"g(\d{6})")
FOOTER_KEY = "footer"


class SparkEngine:
    """An :class:`~ariane.engine.Engine` over a SparkSession and encrypted Parquet tables."""

    def __init__(
        self,
        store: Path,
        key: str,
        scratch: Path,
        *,
        create: bool = False,
        master: str | None = None,
        session: SparkSession | None = None,
    ) -> None:
        """Open the Parquet store ``store`` (``create`` it if absent) with the case ``key``,
        on ``master`` (by default, the process's running Spark, else ``local[*]``)."""
        if not create and not store.is_dir():
            raise CaseError(f"{store}: case store not found")
        self.database = store
        self.scratch = scratch
        # A session of its own over the process's SparkContext: its own views, functions
        # and settings (the case's key among them), so that two cases open at once in one
        # process see neither each other's tables nor each other's key.
        self.spark = (session or spark_session(master)).newSession()
        self._secret = hashlib.sha256(b"ariane parquet " + bytes.fromhex(key)).hexdigest()
        self._paths: dict[str, Path] = {}
        self._schemas: dict[str, Any] = {}
        self._temporary: set[str] = set()
        self._configure_keys()
        self._register_builtins()
        store.mkdir(parents=True, exist_ok=True, mode=0o700)
        for folder in sorted(store.iterdir()):
            generation = _current_generation(folder)
            if generation is not None:
                self._paths[folder.name] = generation
        if self._paths:
            self._check_key()

    # -- keys and settings -----------------------------------------------------------------

    def _configure_keys(self) -> None:
        """Give this case's key to Parquet (in the JVM's memory only, never written).

        Set in this engine's session: Spark gives a session's settings to the Hadoop
        configuration of every file it reads or writes, Parquet's key client included.
        """
        conf = self.spark.conf
        # A token of this case's own keeps Parquet's client cache from serving another
        # case's keys in a process that opened two.
        token = hashlib.sha256(self._secret.encode()).hexdigest()[:32]
        conf.set("ariane.parquet.secret", self._secret)
        conf.set("parquet.encryption.key.access.token", token)
        conf.set("parquet.encryption.kms.instance.id", token)
        # Anything written as Parquet without the engine's options (Splink's checkpoints)
        # is encrypted too, footer and all columns, under a key of its own.
        conf.set("parquet.encryption.uniform.key", "uniform")

    def _write_options(self, df: DataFrame) -> dict[str, str]:
        """Per-write encryption: a master key per column, the rest under the footer key."""
        keys = [
            f"c{hashlib.sha256(field.name.encode()).hexdigest()[:16]}:{field.name}"
            for field in df.schema.fields
            if not _UNLISTABLE.search(field.name)
            and field.dataType.typeName() not in {"array", "map", "struct"}
        ]
        return {
            "parquet.encryption.uniform.key": "",
            "parquet.encryption.footer.key": FOOTER_KEY,
            "parquet.encryption.column.keys": ";".join(keys),
            "parquet.encryption.complete.columns": "true",
            "parquet.encryption.plaintext.footer": "false",
        }

    def _check_key(self) -> None:
        name = next(iter(self._paths))
        try:
            self.spark.read.parquet(str(self._paths[name])).schema  # noqa: B018
            self._expose(name)
        except Exception as exc:
            if _is_key_error(exc):
                raise CaseKeyError(f"{self.database}: wrong key for this case") from None
            raise CaseError(f"{self.database}: cannot open the case store") from None
        for other in self._paths:
            self._expose(other)

    def _register_builtins(self) -> None:
        """DuckDB functions the stages use that Spark lacks, as vectorised functions."""
        from pyspark.sql.types import DoubleType

        # Ariane's jar: strip_accents in the JVM (as a pandas UDF, every value went through
        # a Python worker and back).
        # (Registered as an instance of UDF1: Janino writes no generic signature, which
        # registerJavaFunction needs to see a UDF1 in the class.)
        jvm: Any = self.spark._jvm
        java_class: Any = jvm
        for part in STRIP_ACCENTS_CLASS.split("."):
            java_class = getattr(java_class, part)
        self.spark._jsparkSession.udf().register(
            "strip_accents", java_class(), jvm.org.apache.spark.sql.types.DataTypes.StringType
        )
        # Splink's jar: the similarity functions under DuckDB's names, and the name sqlglot
        # gives Jaro-Winkler in Spark (Splink transpiles custom levels with it).

        for name, java_class in (
            ("jaro_winkler", "JaroWinklerSimilarity"),
            ("jarowinkler_similarity", "JaroWinklerSimilarity"),
            ("damerau_levenshtein", "LevDamerauDistance"),
        ):
            self.spark.udf.registerJavaFunction(
                name, f"uk.gov.moj.dash.linkage.{java_class}", DoubleType()
            )

    # -- tables ----------------------------------------------------------------------------

    def _folder(self, name: str, temporary: bool) -> Path:
        return (self.scratch / "spark" if temporary else self.database) / name

    def _expose(self, name: str, schema: Any = None) -> None:
        """Expose table ``name`` as a view over its Parquet folder. Given the ``schema`` it
        was just written with, Spark need not infer it (a job reading a footer, each time)."""
        reader = self.spark.read
        self._schemas.pop(name, None)
        if schema is not None:
            self._schemas[name] = _nullable(schema)
            reader = reader.schema(self._schemas[name])
        reader.parquet(str(self._paths[name])).createOrReplaceTempView(_view(name))

    def _schema(self, name: str) -> Any:
        """Table ``name``'s schema as its view reads it, remembered (asking the view's
        schema makes Spark analyse it again: a round trip to the JVM each insert)."""
        if name not in self._schemas:
            self._schemas[name] = self.spark.table(_view(name)).schema
        return self._schemas[name]

    def _store(self, name: str, df: DataFrame, *, temporary: bool) -> None:
        """Write ``df`` as the next generation of table ``name`` and expose it."""
        old = self._paths.get(name)
        folder = self._folder(name, temporary)
        number = int(old.name[1:]) + 1 if old is not None else 1
        target = folder / f"g{number:06d}"
        with self._errors():
            df.write.options(**self._write_options(df)).mode("overwrite").parquet(str(target))
        self._paths[name] = target
        if temporary:
            self._temporary.add(name)
        else:
            self._temporary.discard(name)
        self._expose(name, df.schema)
        if old is not None and old.parent != folder:
            shutil.rmtree(old.parent, ignore_errors=True)
        elif old is not None:
            shutil.rmtree(old, ignore_errors=True)

    def _append_frame(self, name: str, df: DataFrame) -> None:
        from pyspark.sql import functions as F

        if name not in self._paths:
            self._store(name, df, temporary=False)
            return
        schema = self._schema(name)
        given = {f.name for f in df.schema.fields}
        aligned = df.select(
            *[
                (F.col(_col(f.name)) if f.name in given else F.lit(None))
                .cast(f.dataType)
                .alias(f.name)
                for f in schema.fields
            ]
        )
        with self._errors():
            aligned.write.options(**self._write_options(aligned)).mode("append").parquet(
                str(self._paths[name])
            )
        self._expose(name, schema)

    def _drop(self, name: str) -> None:
        path = self._paths.pop(name, None)
        self._schemas.pop(name, None)
        self._temporary.discard(name)
        self.spark.catalog.dropTempView(_view(name))
        if path is not None:
            shutil.rmtree(path.parent, ignore_errors=True)

    @contextmanager
    def _errors(self) -> Iterator[None]:
        try:
            yield
        except Exception as exc:
            if _is_key_error(exc):
                raise CaseKeyError(f"{self.database}: wrong key, or the store is damaged") from None
            if _jvm_gone(exc):
                raise EngineUnavailableError(JVM_GONE) from None
            raise

    # -- the Engine protocol ---------------------------------------------------------------

    def register(self, name: str, table: Any) -> None:
        """Expose an in-memory Arrow table (or a stream of batches) under ``name``."""
        import pyarrow as pa

        if isinstance(table, pa.RecordBatchReader):
            table = table.read_all()
        with self._errors():
            self.spark.createDataFrame(table).createOrReplaceTempView(_view(name))

    def unregister(self, name: str) -> None:
        """Forget a registered table."""
        with self._errors():
            self.spark.catalog.dropTempView(_view(name))

    def hold(self, name: str, table: pa.Table) -> bool:
        """Never: Spark's tables are stored (see :meth:`append`)."""
        return False

    def append(self, name: str, table: pa.Table) -> None:
        """Append Arrow rows to stored table ``name``, creating it on first use."""
        if table.num_rows == 0 and name in self._paths:
            return
        with self._errors():
            frame = self.spark.createDataFrame(table)
            if table.num_rows == 0:
                frame = self.spark.createDataFrame([], frame.schema)
            self._append_frame(name, frame)

    def execute(self, sql: str, params: Sequence[Any] | None = None) -> None:
        """Run statements for their effect (DuckDB dialect)."""
        with self._errors():
            for statement in sparksql.parse(sql, params):
                self._statement(statement)

    def fetch(self, sql: str, params: Sequence[Any] | None = None) -> list[tuple[Any, ...]]:
        """Run a query and return all its rows."""
        with self._errors():
            return [tuple(row) for row in self._query(sql, params).collect()]

    def fetch_arrow(self, sql: str, params: Sequence[Any] | None = None) -> pa.Table:
        """Run a query and return an Arrow table."""
        with self._errors():
            return self._query(sql, params).toArrow()

    def batches(self, sql: str, batch_rows: int = 100_000) -> Any:
        """A query's result as Arrow record batches."""
        return self.fetch_arrow(sql).to_batches(batch_rows)

    def materialise(self, name: str, sql: str) -> None:
        """Store the result of ``sql`` as table ``name``."""
        self._store(name, self._query(sql), temporary=False)

    def register_function(
        self,
        name: str,
        fn: Callable[..., Any],
        parameters: Sequence[str],
        returns: str,
    ) -> None:
        """Register an Arrow-vectorised scalar function, as a pandas UDF over Arrow arrays."""
        import warnings

        import pandas as pd
        import pyarrow as pa
        from pyspark.sql.functions import PandasUDFType, pandas_udf

        returned = exp.DataType.build(returns, dialect="duckdb").sql(dialect="spark")
        arrow_types = {
            "VARCHAR": pa.string(),
            "BIGINT": pa.int64(),
            "INTEGER": pa.int32(),
            "DOUBLE": pa.float64(),
            "BOOLEAN": pa.bool_(),
        }
        types = [arrow_types.get(p.upper()) for p in parameters]

        def vectorised(*columns):
            # Typed as declared: a batch of NULLs alone would otherwise come as type null.
            arrays = [pa.Array.from_pandas(c, type=t) for c, t in zip(columns, types, strict=True)]
            result = fn(*arrays)
            if isinstance(result, pa.ChunkedArray):
                result = result.combine_chunks()
            return pd.Series(result.to_pandas(), index=columns[0].index)

        with warnings.catch_warnings():
            # The explicit scalar type: type hints cannot say "any number of columns".
            warnings.simplefilter("ignore", UserWarning)
            udf = pandas_udf(vectorised, returned, PandasUDFType.SCALAR)
        self.spark.udf.register(name, udf)

    def splink_api(self) -> Any:
        """Splink's Spark API over this session; its checkpoints go to the scratch folder."""
        from splink import SparkAPI

        checkpoints = self.scratch / "spark" / "splink"
        checkpoints.mkdir(parents=True, exist_ok=True)

        class CaseSparkAPI(SparkAPI):
            """Splink's checkpoints in this case's folder, not in the SparkContext's
            checkpoint folder (one a process, shared by every case open)."""

            def _get_checkpoint_dir_path(self, spark_df: Any) -> str:
                return str(checkpoints)

        return CaseSparkAPI(spark_session=self.spark, break_lineage_method="parquet")

    def tables(self) -> list[str]:
        """Names of the stored tables."""
        return sorted(n for n in self._paths if n not in self._temporary)

    def has_table(self, name: str) -> bool:
        """Whether table ``name`` exists (stored or temporary)."""
        return name in self._paths

    def verify(self) -> int:
        """Read every stored table in full (a damaged or wrongly keyed file fails); rows."""
        with self._errors():
            return sum(self.spark.table(_view(n)).count() for n in self.tables())

    def checkpoint(self) -> None:
        """Nothing to flush: every write is a complete Parquet generation."""

    @contextmanager
    def beside(self) -> Iterator[SparkEngine]:
        """This engine itself: a SparkSession takes queries from several threads at once."""
        yield self

    def close(self) -> None:
        """Drop the temporary tables and forget the case's key (a dead JVM forgot it)."""
        try:
            for name in list(self._temporary):
                self._drop(name)
            for name in list(self._paths):
                self.spark.catalog.dropTempView(_view(name))
            self.spark.conf.unset("ariane.parquet.secret")
        except Exception as exc:
            if not _jvm_gone(exc):
                raise
        self._paths.clear()
        self._schemas.clear()
        self._temporary.clear()
        shutil.rmtree(self.scratch / "spark", ignore_errors=True)

    # -- statements ------------------------------------------------------------------------

    def _query(self, sql: str, params: Sequence[Any] | None = None) -> DataFrame:
        statements = sparksql.parse(sql, params)
        if len(statements) != 1:
            raise ValueError("one query expected")
        return self._frame(statements[0])

    def _frame(self, query: exp.Expression) -> DataFrame:
        query = self._with_catalog(query)
        with self._errors():
            return self.spark.sql(sparksql.to_spark(query))

    def _with_catalog(self, query: exp.Expression) -> exp.Expression:
        """Answer DuckDB's information_schema.columns from the tables' schemas."""
        uses = [
            t
            for t in query.find_all(exp.Table)
            if t.db.lower() == "information_schema" and t.name.lower() == "columns"
        ]
        if not uses:
            return query
        rows = [(name, field.name) for name in self._paths for field in self._schema(name).fields]
        frame = self.spark.createDataFrame(
            rows or [("", "")], "table_name string, column_name string"
        )
        if not rows:
            frame = frame.limit(0)
        frame.selectExpr(
            "table_name", "column_name", "current_database() AS table_catalog"
        ).createOrReplaceTempView("__ariane_columns")
        for table in uses:
            table.replace(exp.to_table("__ariane_columns"))
        return query

    def _statement(self, statement: exp.Expression) -> None:
        if isinstance(statement, exp.Create) and statement.kind == "TABLE":
            self._create(statement)
        elif isinstance(statement, exp.Insert):
            self._insert(statement)
        elif isinstance(statement, exp.Drop) and statement.kind == "TABLE":
            for table in statement.args.get("tables") or [statement.this]:
                if table.name not in self._paths and not statement.args.get("exists"):
                    raise CaseError(f"table {table.name} does not exist")
                self._drop(table.name)
        elif isinstance(statement, exp.Alter):
            self._alter(statement)
        elif isinstance(statement, exp.Update):
            self._update(statement)
        elif isinstance(statement, exp.Delete):
            self._delete(statement)
        else:
            with self._errors():
                self.spark.sql(sparksql.to_spark(statement)).collect()

    def _create(self, statement: exp.Create) -> None:
        target = statement.this
        table = target.this if isinstance(target, exp.Schema) else target
        name = table.name
        if name in self._paths and not statement.args.get("replace"):
            if statement.args.get("exists"):
                return
            raise CaseError(f"table {name} already exists")
        properties = statement.args.get("properties")
        temporary = bool(properties and properties.find(exp.TemporaryProperty))
        if statement.expression is not None:
            frame = self._frame(statement.expression)
        else:
            columns = [
                f"{sparksql._quote(c.name)} {sparksql.spark_type(c.args['kind'])}"
                for c in target.expressions
                if isinstance(c, exp.ColumnDef)
            ]
            frame = self.spark.createDataFrame([], ", ".join(columns))
        self._store(name, frame, temporary=temporary)

    def _insert(self, statement: exp.Insert) -> None:
        from pyspark.sql import functions as F

        target = statement.this
        columns = [c.name for c in target.expressions] if isinstance(target, exp.Schema) else None
        name = (target.this if isinstance(target, exp.Schema) else target).name
        source = statement.expression
        if isinstance(source, exp.Values):
            source.set("alias", exp.TableAlias(this=exp.to_identifier("__values")))
            source = exp.select("*").from_(source)
        frame = self._frame(source)
        schema = self._schema(name)
        names = columns or [f.name for f in schema.fields][: len(frame.columns)]
        # DuckDB inserts by position unless told BY NAME: so here.
        renamed = frame.toDF(*names) if not statement.args.get("by_name") else frame
        types = {f.name: f.dataType for f in schema.fields}
        self._append_frame(
            name, renamed.select(*[F.col(_col(n)).cast(types[n]).alias(n) for n in names])
        )

    def _alter(self, statement: exp.Alter) -> None:
        from pyspark.sql import functions as F

        name = statement.this.name
        frame = self.spark.table(_view(name))
        added = False
        for action in statement.args.get("actions") or []:
            if not isinstance(action, exp.ColumnDef):
                raise CaseError(f"ALTER TABLE {name}: only ADD COLUMN is supported on Spark")
            if action.name in frame.columns:
                if action.args.get("exists"):
                    continue
                raise CaseError(f"ALTER TABLE {name}: column {action.name} exists")
            kind = sparksql.spark_type(action.args["kind"])
            frame = frame.withColumn(action.name, F.lit(None).cast(kind))
            added = True
        if added:  # ADD COLUMN IF NOT EXISTS of columns all there: no rewrite of the table
            self._store(name, frame, temporary=name in self._temporary)

    def _update(self, statement: exp.Update) -> None:
        """UPDATE t SET c = e WHERE w, as a rewrite of the table with CASE WHEN w.

        ``UPDATE t SET c = e FROM m WHERE w`` (DuckDB's form with another table) becomes a
        left join of ``m`` on ``w``: rows ``m`` matches take the new values, the others keep
        theirs (as in DuckDB, a row is expected to match at most one row of ``m``).
        """
        target = statement.this
        name = target.name
        alias = target.alias or name
        condition = statement.args.get("where")
        joined = statement.args.get("from_") or statement.args.get("from")
        matched: exp.Expression | None = condition.this if condition is not None else None
        if joined is not None:
            other = joined.this
            other_alias = other.alias or other.name
            marked = exp.select(exp.Star(), exp.alias_(exp.true(), _MATCHED)).from_(
                exp.to_table(other.name)
            )
            matched = exp.column(_MATCHED, table=other_alias)
        changes: dict[str, exp.Expression] = {}
        for assignment in statement.expressions:
            value = assignment.expression
            if matched is not None:
                value = exp.Case(
                    ifs=[exp.If(this=matched.copy(), true=value)],
                    default=exp.column(assignment.this.name, table=alias),
                )
            changes[assignment.this.name] = value
        current = [f.name for f in self._schema(name).fields]
        select = exp.select(
            *[
                exp.alias_(changes[c], c, quoted=True)
                if c in changes
                else exp.column(c, table=alias, quoted=True)
                for c in current
            ]
        ).from_(exp.alias_(exp.to_table(name), alias, table=True))
        if joined is not None:
            on = condition.this if condition is not None else exp.true()
            select = select.join(
                exp.alias_(marked.subquery(), other_alias), on=on, join_type="left"
            )
        self._store(name, self._frame(select), temporary=name in self._temporary)

    def _delete(self, statement: exp.Delete) -> None:
        """DELETE FROM t WHERE w, as a rewrite of the table keeping the rows w does not
        hold for (false or NULL, as DuckDB keeps them)."""
        if statement.args.get("using"):
            raise CaseError("DELETE ... USING is not supported on Spark")
        target = statement.this
        name = target.name
        select = exp.select(exp.Star()).from_(target.copy())
        condition = statement.args.get("where")
        if condition is not None:
            kept = exp.Coalesce(this=condition.this.copy(), expressions=[exp.false()])
            select = select.where(exp.not_(kept))
        else:
            select = select.where(exp.false())
        self._store(name, self._frame(select), temporary=name in self._temporary)


_MATCHED = "__ariane_matched"


def _nullable(schema: Any) -> Any:
    """A schema as Parquet reads it back: every column may be NULL."""
    from pyspark.sql.types import StructField, StructType

    return StructType([StructField(f.name, f.dataType, True) for f in schema.fields])


def _view(name: str) -> str:
    return "`" + name.replace("`", "``") + "`"


def _col(name: str) -> str:
    return "`" + name.replace("`", "``") + "`"


def _current_generation(folder: Path) -> Path | None:
    """The newest complete generation of a table folder (a crash leaves no _SUCCESS)."""
    if not folder.is_dir():
        return None
    complete = [
        g for g in folder.iterdir() if _GENERATION.fullmatch(g.name) and (g / "_SUCCESS").exists()
    ]
    return max(complete, key=lambda g: g.name) if complete else None


JVM_GONE = (
    "Spark stopped: its JVM is gone, most often out of memory "
    "(give the driver more with SPARK_DRIVER_MEMORY, e.g. 16g)"
)


def _jvm_gone(exc: BaseException) -> bool:
    """Py4J lost its JVM: Spark's driver died (most often out of heap), nothing to retry."""
    from py4j.protocol import Py4JNetworkError

    return isinstance(exc, (Py4JNetworkError, ConnectionError))


def _is_key_error(exc: BaseException) -> bool:
    text = str(exc)
    return any(
        sign in text
        for sign in (
            "KeyAccessDenied",
            "AEADBadTagException",
            "Tag mismatch",
            "ParquetCryptoRuntime",
        )
    )
