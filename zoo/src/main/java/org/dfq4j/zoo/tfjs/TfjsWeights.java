package org.dfq4j.zoo.tfjs;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.dfq4j.rewrite.DfqException;
import org.dfq4j.rewrite.graph.ModelChecks;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;
import com.fasterxml.jackson.databind.JsonNode;

/**
 * The weights of a TF.js model, read from its {@code weightsManifest}: each group lists shard files
 * (concatenated in order) and the weights they hold, one after another, as little-endian float32
 * or, when a weight has a {@code quantization} entry, as uint8/uint16 codes q meaning
 * {@code min + scale * q} or as float16. Weights are looked up by Keras name ("conv2d_1/kernel").
 */
final class TfjsWeights {

    private final Path file;
    private final Map<String, INDArray> byName;

    private TfjsWeights(Path file, Map<String, INDArray> byName) {
        this.file = file;
        this.byName = byName;
    }

    /** Reads every group of the manifest; shard paths are relative to the directory of {@code modelJson}. */
    static TfjsWeights load(Path modelJson, JsonNode manifest) {
        if (manifest == null || !manifest.isArray()) {
            throw new DfqException(modelJson + ": weightsManifest is missing or not a list");
        }
        Map<String, INDArray> byName = new LinkedHashMap<>();
        for (int g = 0; g < manifest.size(); g++) {
            readGroup(modelJson, g, manifest.get(g), byName);
        }
        return new TfjsWeights(modelJson, byName);
    }

    /** The weight {@code <layer>/<param>}, or null when the manifest has none. */
    INDArray find(String layer, String param) {
        String key = layer + "/" + param;
        INDArray exact = byName.get(key);
        if (exact != null) {
            return exact;
        }
        // Converters may prefix a scope ("model/conv2d_1/kernel"); accept one unambiguous match.
        List<String> scoped = byName.keySet().stream().filter(n -> n.endsWith("/" + key)).toList();
        if (scoped.size() > 1) {
            throw new DfqException(file + ": weight '" + key + "' is ambiguous in the manifest: " + scoped);
        }
        return scoped.isEmpty() ? null : byName.get(scoped.get(0));
    }

    /** The weight {@code <layer>/<param>} with the given shape; a user error when absent or shaped otherwise. */
    INDArray require(KerasLayer layer, String param, long... shape) {
        INDArray w = find(layer.name(), param);
        if (w == null) {
            throw layer.error("the weights manifest has no '" + layer.name() + "/" + param + "'");
        }
        if (!Arrays.equals(w.shape(), shape)) {
            throw layer.error("weight '" + param + "' has shape " + Arrays.toString(w.shape()) + ", the layer config needs "
                    + Arrays.toString(shape));
        }
        return w;
    }

    private static void readGroup(Path modelJson, int g, JsonNode group, Map<String, INDArray> byName) {
        JsonNode paths = group.get("paths");
        JsonNode weights = group.get("weights");
        if (paths == null || !paths.isArray() || paths.size() == 0 || weights == null || !weights.isArray()) {
            throw new DfqException(modelJson + ": weightsManifest[" + g + "] needs 'paths' and 'weights' lists");
        }
        List<String> shardNames = new ArrayList<>();
        for (JsonNode p : paths) {
            if (!p.isTextual()) {
                throw new DfqException(modelJson + ": weightsManifest[" + g + "] has a path that is not a string: " + p);
            }
            shardNames.add(p.asText());
        }
        String where = modelJson + ": weightsManifest[" + g + "] " + shardNames;
        // the manifest first: how many bytes the weights need, before any shard is read
        List<String> names = new ArrayList<>();
        List<long[]> shapes = new ArrayList<>();
        List<Encoding> encodings = new ArrayList<>();
        long need = 0;
        for (JsonNode w : weights) {
            String name = stripOutputSuffix(w.path("name").asText(""));
            if (name.isEmpty()) {
                throw new DfqException(where + " lists a weight without a name");
            }
            if (byName.containsKey(name) || names.contains(name)) {
                throw new DfqException(where + " lists weight '" + name + "' a second time");
            }
            long[] shape = shape(where, name, w.get("shape"));
            Encoding enc = Encoding.of(where, name, w);
            names.add(name);
            shapes.add(shape);
            encodings.add(enc);
            need += Arrays.stream(shape).reduce(1, (a, b) -> a * b) * enc.bytes;
            if (need > Integer.MAX_VALUE) {
                throw new DfqException(where + " needs more than 2 GiB of weights; the manifest is damaged");
            }
        }
        List<Path> shards = shards(modelJson, g, shardNames);
        long have = 0;
        for (Path shard : shards) {
            try {
                have += Files.size(shard);
            } catch (IOException e) {
                throw new DfqException(modelJson + ": cannot read weight shard " + shard + ": " + e.getMessage(), e);
            }
        }
        if (have != need) {
            throw new DfqException(where + " holds " + have + " bytes, its weights " + names + " take " + need
                    + "; the shards are " + (have < need ? "truncated" : "too long") + " or do not belong to this model.json");
        }
        ByteBuffer bytes = concatenate(modelJson, g, shards, (int) need);
        for (int i = 0; i < names.size(); i++) {
            long[] shape = shapes.get(i);
            INDArray v = encodings.get(i).decode(bytes, (int) Arrays.stream(shape).reduce(1, (a, b) -> a * b), shape);
            String bad = ModelChecks.nonFinite(v);
            if (bad != null) {
                throw new DfqException(where + ": weight '" + names.get(i) + "' " + bad
                        + "; weights must be finite (the shard is damaged)");
            }
            byName.put(names.get(i), v);
        }
    }

    /**
     * The shard files of a group, each resolved against the folder of model.json; a path that is
     * absolute, leaves the folder (.., or a link pointing outside) or is not a regular file is refused.
     */
    private static List<Path> shards(Path modelJson, int g, List<String> shardNames) {
        Path dir = modelJson.toAbsolutePath().normalize().getParent();
        Path realDir;
        try {
            realDir = dir.toRealPath();
        } catch (IOException e) {
            throw new DfqException(modelJson + ": cannot resolve its folder " + dir + ": " + e.getMessage(), e);
        }
        List<Path> out = new ArrayList<>();
        for (String name : shardNames) {
            Path rel;
            try {
                rel = Path.of(name);
            } catch (RuntimeException e) {
                throw new DfqException(modelJson + ": weight shard path '" + name + "' (weightsManifest[" + g
                        + "]) is not a valid path");
            }
            Path shard = dir.resolve(rel).normalize();
            if (rel.isAbsolute() || !shard.startsWith(dir)) {
                throw new DfqException(modelJson + ": weight shard path '" + name + "' (weightsManifest[" + g
                        + "]) points outside the model folder " + dir + "; shard paths must be relative and inside it");
            }
            if (!Files.exists(shard)) {
                throw new DfqException(modelJson + ": weight shard " + shard + " (weightsManifest[" + g + "]) is missing;"
                        + " keep the shards beside model.json");
            }
            try {
                if (!shard.toRealPath().startsWith(realDir)) {
                    throw new DfqException(modelJson + ": weight shard path '" + name + "' (weightsManifest[" + g
                            + "]) is a link that points outside the model folder " + dir);
                }
            } catch (IOException e) {
                throw new DfqException(modelJson + ": cannot resolve weight shard " + shard + ": " + e.getMessage(), e);
            }
            if (!Files.isRegularFile(shard)) {
                throw new DfqException(modelJson + ": weight shard '" + name + "' (weightsManifest[" + g
                        + "]) is not a regular file");
            }
            out.add(shard);
        }
        return out;
    }

    private static ByteBuffer concatenate(Path modelJson, int g, List<Path> shards, int total) {
        ByteBuffer all = ByteBuffer.allocate(total).order(ByteOrder.LITTLE_ENDIAN);
        for (Path shard : shards) {
            byte[] part;
            try {
                part = Files.readAllBytes(shard);
            } catch (NoSuchFileException e) {
                throw new DfqException(modelJson + ": weight shard " + shard + " (weightsManifest[" + g + "]) is missing;"
                        + " keep the shards beside model.json");
            } catch (IOException e) {
                throw new DfqException(modelJson + ": cannot read weight shard " + shard + ": " + e.getMessage(), e);
            }
            if (part.length > all.remaining()) {
                throw new DfqException(modelJson + ": weight shard " + shard + " grew while it was read");
            }
            all.put(part);
        }
        if (all.hasRemaining()) {
            throw new DfqException(modelJson + ": weightsManifest[" + g + "] shards shrank while they were read");
        }
        return all.flip();
    }

    private static long[] shape(String where, String name, JsonNode s) {
        if (s == null || !s.isArray()) {
            throw new DfqException(where + ": weight '" + name + "' has no shape list");
        }
        long[] shape = new long[s.size()];
        long count = 1;
        for (int i = 0; i < shape.length; i++) {
            if (!s.get(i).isIntegralNumber() || s.get(i).asLong() < 0) {
                throw new DfqException(where + ": weight '" + name + "' has an invalid shape " + s);
            }
            shape[i] = s.get(i).asLong();
            count *= shape[i];
            if (count > Integer.MAX_VALUE / 4) {
                throw new DfqException(where + ": weight '" + name + "' shape " + s + " is too large");
            }
        }
        return shape;
    }

    /** Keras sometimes keeps TensorFlow's output suffix: "conv2d_1/kernel:0". */
    private static String stripOutputSuffix(String name) {
        return name.endsWith(":0") ? name.substring(0, name.length() - 2) : name;
    }

    /** How one weight's values are stored in the shard bytes. */
    private record Encoding(String type, int bytes, double min, double scale) {

        static Encoding of(String where, String name, JsonNode w) {
            JsonNode q = w.get("quantization");
            if (q == null || q.isNull()) {
                String dtype = w.path("dtype").asText("float32");
                if (!dtype.equals("float32")) {
                    throw new DfqException(where + ": weight '" + name + "' has dtype " + dtype
                            + "; only float32 weights (or uint8/uint16/float16 quantized float32) can be read");
                }
                return new Encoding("float32", 4, 0, 1);
            }
            String qtype = q.path("dtype").asText("");
            return switch (qtype) {
                case "uint8", "uint16" -> {
                    if (!q.path("min").isNumber() || !q.path("scale").isNumber()) {
                        throw new DfqException(where + ": weight '" + name + "' is " + qtype
                                + "-quantized but its quantization entry lacks min or scale");
                    }
                    double min = q.get("min").asDouble();
                    double scale = q.get("scale").asDouble();
                    if (!Double.isFinite(min) || !Double.isFinite(scale)) {
                        throw new DfqException(where + ": weight '" + name + "' has quantization min " + min
                                + " and scale " + scale + "; both must be finite");
                    }
                    yield new Encoding(qtype, qtype.equals("uint8") ? 1 : 2, min, scale);
                }
                case "float16" -> new Encoding("float16", 2, 0, 1);
                default -> throw new DfqException(where + ": weight '" + name + "' has quantization dtype '" + qtype
                        + "'; only uint8, uint16 and float16 can be read");
            };
        }

        INDArray decode(ByteBuffer buf, int count, long[] shape) {
            float[] v = new float[count];
            for (int i = 0; i < count; i++) {
                v[i] = switch (type) {
                    case "float32" -> buf.getFloat();
                    case "uint8" -> (float) (min + scale * Byte.toUnsignedInt(buf.get()));
                    case "uint16" -> (float) (min + scale * Short.toUnsignedInt(buf.getShort()));
                    default -> halfToFloat(buf.getShort());
                };
            }
            return shape.length == 0 ? Nd4j.scalar(v[0]) : Nd4j.create(v, shape, 'c');
        }

        /** IEEE 754 binary16 to float (Java 17 has no Float.float16ToFloat). */
        static float halfToFloat(short h) {
            int sign = (h >>> 15) & 1;
            int exp = (h >>> 10) & 0x1f;
            int frac = h & 0x3ff;
            float magnitude;
            if (exp == 0) {
                magnitude = frac * 0x1p-24f;
            } else if (exp == 31) {
                magnitude = frac == 0 ? Float.POSITIVE_INFINITY : Float.NaN;
            } else {
                magnitude = Float.intBitsToFloat(((exp + 112) << 23) | (frac << 13));
            }
            return sign == 0 ? magnitude : -magnitude;
        }
    }
}
