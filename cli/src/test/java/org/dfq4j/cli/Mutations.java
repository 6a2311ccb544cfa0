package org.dfq4j.cli;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Iterator;
import java.util.List;
import java.util.Map;
import java.util.Random;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.JsonNodeFactory;
import com.fasterxml.jackson.databind.node.ObjectNode;

/**
 * Seeded mutations of model files for the reader fuzzer: byte-level (bit flips, boundary values
 * written over ints, shorts, bytes and floats, truncation, chunk duplication and deletion) and, for
 * JSON, structural (a field deleted, a value retyped or replaced by a boundary value, an array
 * element dropped or repeated, a weight shape changed against its shard, a shard path pointed
 * elsewhere). Each mutation returns the new bytes and says what it did, so a failing case can be
 * read and replayed.
 */
final class Mutations {

    /** The bytes of a mutant and what was done to make it. */
    record Mutant(byte[] bytes, String description) {
    }

    /** Values that break code which trusts a length, an offset, an index or a size. */
    private static final long[] BOUNDARY_INTS = {0, 1, -1, 2, 0x7F, 0x80, 0xFF, 0x7FFF, 0x8000, 0xFFFF, 0x7FFFFFFF,
        0x80000000L, 0xFFFFFFFFL, 0x40000001L, 0x3FFFFFFF, 0x10000, 1 << 24, 100_000};
    private static final float[] BOUNDARY_FLOATS = {Float.NaN, Float.POSITIVE_INFINITY, Float.NEGATIVE_INFINITY,
        0f, -0f, Float.MAX_VALUE, -Float.MAX_VALUE, Float.MIN_VALUE, 1e30f, -1e30f, 1e-30f};
    private static final Object[] BOUNDARY_JSON = {0, -1, 1, 2, 3, 2147483647, -2147483648L, 1_000_000_000L,
        65536, 100000, 1e300, -0.5, 0.5, "", "x", true, null};
    private static final String[] PATHS = {"../escape.bin", "/dev/zero", "/etc/passwd", "", ".", "sub/../../x",
        "missing-shard", "model.json"};

    private Mutations() {
    }

    /**
     * A byte-level mutation. {@code data} lists [start, end) ranges of bulk data (weights); most
     * offsets are chosen outside them, where a file's structure is, and where an int32 looks like a
     * length, offset or index (0 < v < 2^20).
     */
    static Mutant bytes(byte[] in, Random r, List<int[]> data) {
        if (in.length == 0) {
            return new Mutant(in, "empty file kept");
        }
        int op = r.nextInt(7);
        byte[] b = in.clone();
        switch (op) {
            case 0 -> {
                int n = 1 + r.nextInt(8);
                StringBuilder at = new StringBuilder();
                for (int i = 0; i < n; i++) {
                    int off = offset(b.length, r, data);
                    int bit = r.nextInt(8);
                    b[off] ^= (byte) (1 << bit);
                    at.append(i == 0 ? "" : ",").append(off).append(':').append(bit);
                }
                return new Mutant(b, "flipped " + n + " bits at " + at);
            }
            case 1, 2 -> {
                int off = op == 2 ? likelyLength(b, r, data) : offset(b.length, r, data);
                int width = new int[] {1, 2, 4, 4, 4, 8}[r.nextInt(6)];
                off = Math.max(0, Math.min(off - (op == 2 ? 0 : off % Math.min(width, 4)), b.length - width));
                if (off < 0) {
                    return new Mutant(b, "file too short to overwrite");
                }
                ByteBuffer bb = ByteBuffer.wrap(b).order(ByteOrder.LITTLE_ENDIAN);
                if (width == 4 && r.nextInt(4) == 0) {
                    float f = BOUNDARY_FLOATS[r.nextInt(BOUNDARY_FLOATS.length)];
                    bb.putFloat(off, f);
                    return new Mutant(b, "float " + f + " written at " + off);
                }
                long v = BOUNDARY_INTS[r.nextInt(BOUNDARY_INTS.length)];
                switch (width) {
                    case 1 -> bb.put(off, (byte) v);
                    case 2 -> bb.putShort(off, (short) v);
                    case 4 -> bb.putInt(off, (int) v);
                    default -> bb.putLong(off, v);
                }
                return new Mutant(b, (op == 2 ? "length-like " : "") + width + "-byte " + v + " written at " + off);
            }
            case 3 -> {
                int len = r.nextInt(in.length);
                return new Mutant(Arrays.copyOf(in, len), "truncated to " + len + " of " + in.length + " bytes");
            }
            case 4 -> {
                int from = r.nextInt(in.length);
                int len = 1 + r.nextInt(Math.min(4096, in.length - from));
                int to = r.nextInt(in.length + 1);
                byte[] out = new byte[in.length + len];
                System.arraycopy(in, 0, out, 0, to);
                System.arraycopy(in, from, out, to, len);
                System.arraycopy(in, to, out, to + len, in.length - to);
                return new Mutant(out, "duplicated " + len + " bytes from " + from + " at " + to);
            }
            case 5 -> {
                int from = r.nextInt(in.length);
                int len = 1 + r.nextInt(Math.min(4096, in.length - from));
                byte[] out = new byte[in.length - len];
                System.arraycopy(in, 0, out, 0, from);
                System.arraycopy(in, from + len, out, from, in.length - from - len);
                return new Mutant(out, "deleted " + len + " bytes at " + from);
            }
            default -> {
                int off = offset(b.length, r, data) & ~3;
                int len = Math.min(b.length - off, 4 * (1 + r.nextInt(16)));
                for (int i = 0; i < len; i++) {
                    b[off + i] = (byte) r.nextInt(256);
                }
                return new Mutant(b, len + " random bytes at " + off);
            }
        }
    }

    /** An offset, outside the data ranges three times in four (when there is room outside them). */
    private static int offset(int length, Random r, List<int[]> data) {
        for (int attempt = 0; attempt < 64 && !data.isEmpty() && r.nextInt(4) != 0; attempt++) {
            int off = r.nextInt(length);
            if (data.stream().noneMatch(d -> off >= d[0] && off < d[1])) {
                return off;
            }
        }
        return r.nextInt(length);
    }

    /** An aligned offset outside the data whose int32 lies in (0, 2^20): probably a length, offset or index. */
    private static int likelyLength(byte[] b, Random r, List<int[]> data) {
        ByteBuffer bb = ByteBuffer.wrap(b).order(ByteOrder.LITTLE_ENDIAN);
        for (int attempt = 0; attempt < 256; attempt++) {
            int off = offset(b.length, r, data) & ~3;
            if (off + 4 <= b.length) {
                int v = bb.getInt(off);
                if (v > 0 && v < 1 << 20) {
                    return off;
                }
            }
        }
        return offset(b.length, r, data);
    }

    /** A structural mutation of a JSON document (or a byte-level one of its text, one time in five). */
    static Mutant json(byte[] in, Random r) {
        if (r.nextInt(5) == 0) {
            return bytes(in, r, List.of());
        }
        ObjectMapper m = new ObjectMapper();
        JsonNode root;
        try {
            root = m.readTree(in);
        } catch (java.io.IOException e) {
            return bytes(in, r, List.of());
        }
        List<Slot> slots = new ArrayList<>();
        collect(root, "$", slots);
        String what;
        int op = r.nextInt(6);
        if (op == 4) {
            what = changeWeightShape(root, r);
        } else if (op == 5) {
            what = changeShardPath(root, r);
        } else {
            Slot s = slots.get(r.nextInt(slots.size()));
            what = switch (op) {
                case 0 -> s.remove();
                case 1 -> s.replace(retyped(s.value(), r), "retyped");
                case 2 -> s.replace(boundary(r), "boundary");
                default -> s.duplicateOrDropInParent(r);
            };
        }
        if (what == null) {
            return bytes(in, r, List.of());
        }
        try {
            return new Mutant(m.writeValueAsBytes(root), what);
        } catch (java.io.IOException e) {
            throw new IllegalStateException(e);
        }
    }

    private static JsonNode boundary(Random r) {
        return new ObjectMapper().valueToTree(BOUNDARY_JSON[r.nextInt(BOUNDARY_JSON.length)]);
    }

    private static JsonNode retyped(JsonNode v, Random r) {
        JsonNodeFactory f = JsonNodeFactory.instance;
        if (v == null || v.isNull()) {
            return f.objectNode();
        }
        if (v.isNumber()) {
            return r.nextBoolean() ? f.textNode(v.asText()) : f.arrayNode().add(v);
        }
        if (v.isTextual()) {
            return r.nextBoolean() ? f.numberNode(7) : f.arrayNode().add(v);
        }
        if (v.isArray()) {
            return r.nextBoolean() ? f.numberNode(v.size()) : f.objectNode();
        }
        if (v.isObject()) {
            return r.nextBoolean() ? f.arrayNode() : f.textNode("object");
        }
        return f.nullNode();
    }

    /** weightsManifest[g].weights[i].shape[k] changed: the shard no longer matches the manifest. */
    private static String changeWeightShape(JsonNode root, Random r) {
        JsonNode manifest = root.path("weightsManifest");
        if (!manifest.isArray() || manifest.size() == 0) {
            return null;
        }
        JsonNode weights = manifest.get(r.nextInt(manifest.size())).path("weights");
        if (!weights.isArray() || weights.size() == 0) {
            return null;
        }
        JsonNode w = weights.get(r.nextInt(weights.size()));
        JsonNode shape = w.path("shape");
        if (!shape.isArray() || shape.size() == 0) {
            return null;
        }
        int k = r.nextInt(shape.size());
        long old = shape.get(k).asLong();
        long now = switch (r.nextInt(5)) {
            case 0 -> old + 1;
            case 1 -> old - 1;
            case 2 -> old * 2;
            case 3 -> 0;
            default -> 1L << 31;
        };
        ((ArrayNode) shape).set(k, JsonNodeFactory.instance.numberNode(now));
        return "shape of weight '" + w.path("name").asText() + "' dim " + k + ": " + old + " -> " + now;
    }

    private static String changeShardPath(JsonNode root, Random r) {
        JsonNode manifest = root.path("weightsManifest");
        if (!manifest.isArray() || manifest.size() == 0) {
            return null;
        }
        JsonNode paths = manifest.get(r.nextInt(manifest.size())).path("paths");
        if (!paths.isArray() || paths.size() == 0) {
            return null;
        }
        int k = r.nextInt(paths.size());
        String to = PATHS[r.nextInt(PATHS.length)];
        ((ArrayNode) paths).set(k, JsonNodeFactory.instance.textNode(to));
        return "shard path " + k + " -> '" + to + "'";
    }

    /** A place in a JSON tree: a field of an object or an element of an array. */
    private record Slot(JsonNode parent, String field, int index, String path) {

        JsonNode value() {
            return field != null ? parent.get(field) : parent.get(index);
        }

        String remove() {
            if (field != null) {
                ((ObjectNode) parent).remove(field);
            } else {
                ((ArrayNode) parent).remove(index);
            }
            return "deleted " + path;
        }

        String replace(JsonNode v, String how) {
            if (field != null) {
                ((ObjectNode) parent).set(field, v);
            } else {
                ((ArrayNode) parent).set(index, v);
            }
            return how + " " + path + " -> " + v;
        }

        String duplicateOrDropInParent(Random r) {
            if (field != null) {
                return remove();
            }
            ArrayNode a = (ArrayNode) parent;
            if (r.nextBoolean()) {
                a.insert(index, a.get(index).deepCopy());
                return "repeated " + path;
            }
            return remove();
        }
    }

    private static void collect(JsonNode n, String path, List<Slot> out) {
        if (n.isObject()) {
            for (Iterator<Map.Entry<String, JsonNode>> it = n.fields(); it.hasNext(); ) {
                Map.Entry<String, JsonNode> e = it.next();
                String p = path + "." + e.getKey();
                out.add(new Slot(n, e.getKey(), -1, p));
                collect(e.getValue(), p, out);
            }
        } else if (n.isArray()) {
            for (int i = 0; i < n.size(); i++) {
                String p = path + "[" + i + "]";
                out.add(new Slot(n, null, i, p));
                collect(n.get(i), p, out);
            }
        }
    }
}
