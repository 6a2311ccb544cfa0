package org.dfq4j.eval.report;

import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;
import org.dfq4j.rewrite.DfqException;
import org.dfq4j.rewrite.io.AtomicFile;

/**
 * Writes results (maps, lists, records) as indented JSON: the value is serialized in memory, then
 * written with {@link AtomicFile} (a temporary file renamed over the target), so a reader never sees
 * a half-written file and a failed write leaves the previous file as it was.
 *
 * <p>Non-finite numbers (an SQNR of +infinity) are written as the strings "Infinity" and "NaN".
 */
public final class JsonReport {

    private static final ObjectMapper MAPPER = new ObjectMapper().enable(SerializationFeature.INDENT_OUTPUT);

    private JsonReport() {
    }

    /** The JSON text of a value. */
    public static String toJson(Object value) {
        try {
            return MAPPER.writeValueAsString(value);
        } catch (JsonProcessingException e) {
            throw new DfqException("cannot write " + value.getClass().getSimpleName() + " as JSON: "
                    + e.getOriginalMessage(), e);
        }
    }

    /**
     * Writes a value as JSON to {@code target}, creating missing parent folders.
     *
     * @throws DfqException naming the target when the value cannot be serialized or the file written
     */
    public static void write(Path target, Object value) {
        byte[] json;
        try {
            json = (MAPPER.writeValueAsString(value) + "\n").getBytes(StandardCharsets.UTF_8);
        } catch (JsonProcessingException e) {
            throw new DfqException("cannot write " + target + ": the result is not serializable as JSON ("
                    + e.getOriginalMessage() + ")", e);
        }
        AtomicFile.write(target, json);
    }

    /** Writes text (a Markdown table, say) with the same atomic replace as {@link #write}. */
    public static void writeText(Path target, String text) {
        AtomicFile.write(target, text.getBytes(StandardCharsets.UTF_8));
    }
}
