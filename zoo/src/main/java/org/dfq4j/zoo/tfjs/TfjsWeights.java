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
            shardNames.add(p.asText());
        }
        ByteBuffer bytes = concatenate(modelJson, g, shardNames);
        String where = modelJson + ": weightsManifest[" + g + "] " + shardNames;
        for (JsonNode w : weights) {
            String name = stripOutputSuffix(w.path("name").asText(""));
            if (name.isEmpty()) {
                throw new DfqException(where + " lists a weight without a name");
            }
            long[] shape = shape(where, name, w.get("shape"));
            long count = Arrays.stream(shape).reduce(1, (a, b) -> a * b);
            Encoding enc = Encoding.of(where, name, w);
            long need = count * enc.bytes;
            if (need > bytes.remaining()) {
                throw new DfqException(where + " holds " + bytes.limit() + " bytes, too few for weight '" + name + "' "
                        + Arrays.toString(shape) + " at offset " + bytes.position() + "; the shard is truncated or"
                        + " does not belong to this model.json");
            }
            if (byName.containsKey(name)) {
                throw new DfqException(where + " lists weight '" + name + "' a second time");
            }
            byName.put(name, enc.decode(bytes, (int) count, shape));
        }
        if (bytes.hasRemaining()) {
            throw new DfqException(where + " holds " + bytes.limit() + " bytes but its weights take "
                    + bytes.position() + "; the shard is too long or does not belong to this model.json");
        }
    }

    private static ByteBuffer concatenate(Path modelJson, int g, List<String> shardNames) {
        Path dir = modelJson.toAbsolutePath().getParent();
        byte[][] parts = new byte[shardNames.size()][];
        long total = 0;
        for (int i = 0; i < parts.length; i++) {
            Path shard = dir.resolve(shardNames.get(i));
            try {
                parts[i] = Files.readAllBytes(shard);
            } catch (NoSuchFileException e) {
                throw new DfqException(modelJson + ": weight shard " + shard + " (weightsManifest[" + g + "]) is missing;"
                        + " keep the shards beside model.json");
            } catch (IOException e) {
                throw new DfqException(modelJson + ": cannot read weight shard " + shard + ": " + e.getMessage(), e);
            }
            total += parts[i].length;
        }
        if (total > Integer.MAX_VALUE) {
            throw new DfqException(modelJson + ": weightsManifest[" + g + "] is larger than 2 GiB");
        }
        ByteBuffer all = ByteBuffer.allocate((int) total).order(ByteOrder.LITTLE_ENDIAN);
        for (byte[] p : parts) {
            all.put(p);
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
                    yield new Encoding(qtype, qtype.equals("uint8") ? 1 : 2, q.get("min").asDouble(),
                            q.get("scale").asDouble());
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
