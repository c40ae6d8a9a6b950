package org.ariane.spark;

import java.text.Normalizer;
import java.util.regex.Pattern;
import org.apache.spark.sql.api.java.UDF1;

/**
 * DuckDB's strip_accents for Spark SQL: the text in canonical decomposition (NFD), without
 * its non-spacing marks (Unicode category Mn). A JVM function, so that the stages' SQL
 * runs without a Python worker (a pandas UDF moved every value through Python and back).
 * Compiled at run time by Janino with the key client, see ariane/engine/sparksession.py.
 * Janino ignores type arguments: the raw interface, as UDF1<String, String> erases to.
 */
public class StripAccents implements UDF1 {
    private static final Pattern MARKS = Pattern.compile("\\p{Mn}+");

    public Object call(Object value) {
        if (value == null) {
            return null;
        }
        String decomposed = Normalizer.normalize(value.toString(), Normalizer.Form.NFD);
        return MARKS.matcher(decomposed).replaceAll("");
    }
}
