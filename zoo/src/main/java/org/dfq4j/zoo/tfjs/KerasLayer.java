package org.dfq4j.zoo.tfjs;

import java.nio.file.Path;
import java.util.List;
import org.dfq4j.rewrite.DfqException;
import com.fasterxml.jackson.databind.JsonNode;

/**
 * One layer of a Keras topology: its name, class, config object and the names of the layers whose
 * outputs it consumes, in order. The typed accessors read config fields with Keras' defaults and
 * turn a malformed field into a {@link DfqException} that names the file and the layer.
 */
record KerasLayer(Path file, String name, String className, JsonNode config, List<String> inbound) {

    KerasLayer {
        inbound = List.copyOf(inbound);
    }

    /** A one-line user error about this layer. */
    DfqException error(String what) {
        return new DfqException(file + ": layer '" + name + "' (" + className + "): " + what);
    }

    boolean has(String field) {
        JsonNode v = config.get(field);
        return v != null && !v.isNull();
    }

    String string(String field, String dflt) {
        JsonNode v = config.get(field);
        if (v == null || v.isNull()) {
            return dflt;
        }
        if (!v.isTextual()) {
            throw error("config field '" + field + "' must be a string, got " + v);
        }
        return v.asText();
    }

    boolean bool(String field, boolean dflt) {
        JsonNode v = config.get(field);
        if (v == null || v.isNull()) {
            return dflt;
        }
        if (!v.isBoolean()) {
            throw error("config field '" + field + "' must be true or false, got " + v);
        }
        return v.asBoolean();
    }

    double number(String field, double dflt) {
        JsonNode v = config.get(field);
        if (v == null || v.isNull()) {
            return dflt;
        }
        if (!v.isNumber()) {
            throw error("config field '" + field + "' must be a number, got " + v);
        }
        return v.asDouble();
    }

    int integer(String field, int dflt) {
        JsonNode v = config.get(field);
        if (v == null || v.isNull()) {
            return dflt;
        }
        if (!v.isIntegralNumber()) {
            throw error("config field '" + field + "' must be an integer, got " + v);
        }
        return v.asInt();
    }

    /** A Keras 2-D size: an integer n (meaning [n, n]) or a pair; {@code dflt} when absent. */
    int[] pair(String field, int[] dflt) {
        JsonNode v = config.get(field);
        if (v == null || v.isNull()) {
            return dflt;
        }
        if (v.isIntegralNumber()) {
            return new int[] {v.asInt(), v.asInt()};
        }
        if (v.isArray() && v.size() == 2 && v.get(0).isIntegralNumber() && v.get(1).isIntegralNumber()) {
            return new int[] {v.get(0).asInt(), v.get(1).asInt()};
        }
        throw error("config field '" + field + "' must be an integer or a pair of integers, got " + v);
    }

    /** A list of integers, where {@code null} entries (unknown sizes) become -1. */
    long[] longs(String field) {
        JsonNode v = config.get(field);
        if (v == null || !v.isArray()) {
            throw error("config field '" + field + "' must be a list of integers, got " + v);
        }
        long[] out = new long[v.size()];
        for (int i = 0; i < out.length; i++) {
            JsonNode e = v.get(i);
            if (e.isNull()) {
                out[i] = -1;
            } else if (e.isIntegralNumber()) {
                out[i] = e.asLong();
            } else {
                throw error("config field '" + field + "' must be a list of integers, got " + v);
            }
        }
        return out;
    }

    /** Fails unless the layer works on channels-last data, the only layout Keras models in TF.js use. */
    void requireChannelsLast() {
        String f = string("data_format", "channels_last");
        if (!f.equals("channels_last")) {
            throw error("data_format '" + f + "' is not supported; only channels_last models can be read");
        }
    }
}
