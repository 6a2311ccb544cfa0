package org.dfq4j.rewrite.engine;

import java.util.ArrayList;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;

/**
 * What a rewrite applied, in order: one entry per rule application, transform step or skipped
 * candidate, naming the rule or transform, the ops or layers it touched and its key numbers (counts,
 * scales, ratios). This is the provenance the CLI reports. Printable one line per entry; the
 * entries are records, written to JSON as they are (values in the order they were given). Serializable
 * (numbers and strings), so a log made on one machine can be reported on another.
 */
public final class RewriteLog implements java.io.Serializable {

    private static final long serialVersionUID = 1L;

    /**
     * One thing that happened.
     *
     * @param step    the rule or transform name, e.g. "FoldBatchNorm"
     * @param message what it did or why it skipped, in words
     * @param targets the ops, layers or variables concerned
     * @param values  key numbers or short strings, in insertion order (e.g. "minScale" -> 0.31)
     */
    public record Entry(String step, String message, List<String> targets, Map<String, Object> values)
            implements java.io.Serializable {
        public Entry {
            Objects.requireNonNull(step);
            Objects.requireNonNull(message);
            targets = List.copyOf(targets);
            values = Collections.unmodifiableMap(new LinkedHashMap<>(values));
        }

        /** A number stored under key, or NaN when absent or not a number. */
        public double number(String key) {
            return values.get(key) instanceof Number n ? n.doubleValue() : Double.NaN;
        }

        /** One line: {@code step: message [targets] key=value ...}. */
        public String line() {
            StringBuilder sb = new StringBuilder(step).append(": ").append(message);
            if (!targets.isEmpty()) {
                sb.append(' ').append(targets);
            }
            values.forEach((k, v) -> sb.append(' ').append(k).append('=').append(format(v)));
            return sb.toString();
        }

        private static String format(Object v) {
            if (v instanceof Double || v instanceof Float) {
                return String.format("%.4g", ((Number) v).doubleValue());
            }
            return String.valueOf(v);
        }
    }

    private final List<Entry> entries = new ArrayList<>();

    /**
     * Key numbers for an entry, in the order given: {@code values("pairs", 34, "converged", true)}.
     * (Use this, not {@code Map.of}, whose order is unspecified.)
     */
    public static Map<String, Object> values(Object... keysAndValues) {
        if (keysAndValues.length % 2 != 0) {
            throw new IllegalArgumentException("values come in key, value pairs");
        }
        Map<String, Object> m = new LinkedHashMap<>();
        for (int i = 0; i < keysAndValues.length; i += 2) {
            m.put((String) keysAndValues[i], keysAndValues[i + 1]);
        }
        return m;
    }

    public Entry add(String step, String message, List<String> targets, Map<String, Object> values) {
        Entry e = new Entry(step, message, targets, values);
        entries.add(e);
        return e;
    }

    public Entry add(String step, String message, List<String> targets) {
        return add(step, message, targets, Map.of());
    }

    public Entry add(String step, String message) {
        return add(step, message, List.of(), Map.of());
    }

    public void addAll(RewriteLog other) {
        entries.addAll(other.entries);
    }

    public List<Entry> entries() {
        return Collections.unmodifiableList(entries);
    }

    /** Entries of one rule or transform. */
    public List<Entry> entries(String step) {
        return entries.stream().filter(e -> e.step().equals(step)).toList();
    }

    public int size() {
        return entries.size();
    }

    public boolean isEmpty() {
        return entries.isEmpty();
    }

    /** One line per entry. */
    @Override
    public String toString() {
        StringBuilder sb = new StringBuilder();
        for (Entry e : entries) {
            sb.append(e.line()).append('\n');
        }
        return sb.toString();
    }
}
