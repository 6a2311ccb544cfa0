package org.dfq4j.rewrite.graph;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.Arrays;
import java.util.Base64;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.function.Predicate;
import org.dfq4j.rewrite.DfqException;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;

/**
 * A network's properties and attachments as string key/value pairs, for model formats that carry
 * metadata as text (ONNX's {@code metadata_props}): property {@code k} becomes {@code dfq.property.k},
 * attachment {@code a} becomes {@code dfq.attachment.a} = "{@code d0,d1,...:<base64 of little-endian
 * float32 values>}". So an SSD exported to ONNX keeps its post-processing options and anchors, and
 * whoever runs the file (dfq4j's reader, the ONNX Runtime runner) can evaluate it.
 */
public final class NetworkMetadata {

    public static final String PROPERTY = "dfq.property.";
    public static final String ATTACHMENT = "dfq.attachment.";

    private NetworkMetadata() {
    }

    /** Properties and attachments as strings; attachments for which {@code keep} is false are left out. */
    public static Map<String, String> encode(Map<String, String> properties, Map<String, INDArray> attachments,
                                             Predicate<String> keep) {
        Map<String, String> out = new LinkedHashMap<>();
        properties.forEach((k, v) -> out.put(PROPERTY + k, v));
        attachments.forEach((k, v) -> {
            if (keep.test(k)) {
                out.put(ATTACHMENT + k, encode(v));
            }
        });
        return out;
    }

    /** The properties among string metadata (keys without the prefix). */
    public static Map<String, String> properties(Map<String, String> metadata) {
        Map<String, String> out = new LinkedHashMap<>();
        metadata.forEach((k, v) -> {
            if (k.startsWith(PROPERTY)) {
                out.put(k.substring(PROPERTY.length()), v);
            }
        });
        return out;
    }

    /** The attachments among string metadata; {@code where} names the file for errors. */
    public static Map<String, INDArray> attachments(Map<String, String> metadata, String where) {
        Map<String, INDArray> out = new LinkedHashMap<>();
        metadata.forEach((k, v) -> {
            if (k.startsWith(ATTACHMENT)) {
                out.put(k.substring(ATTACHMENT.length()), decode(v, where + ": metadata '" + k + "'"));
            }
        });
        return out;
    }

    static String encode(INDArray a) {
        float[] v = a.castTo(DataType.FLOAT).dup('c').data().asFloat();
        ByteBuffer buf = ByteBuffer.allocate(4 * v.length).order(ByteOrder.LITTLE_ENDIAN);
        for (float x : v) {
            buf.putFloat(x);
        }
        StringBuilder dims = new StringBuilder();
        for (long d : a.shape()) {
            dims.append(dims.length() > 0 ? "," : "").append(d);
        }
        return dims + ":" + Base64.getEncoder().encodeToString(buf.array());
    }

    static INDArray decode(String text, String where) {
        int colon = text.indexOf(':');
        try {
            long[] shape = colon == 0 ? new long[0]
                    : Arrays.stream(text.substring(0, colon).split(",")).mapToLong(Long::parseLong).toArray();
            byte[] raw = Base64.getDecoder().decode(text.substring(colon + 1));
            long n = Arrays.stream(shape).reduce(1, Math::multiplyExact);
            if (colon < 0 || Arrays.stream(shape).anyMatch(d -> d < 0) || raw.length != 4 * n) {
                throw new IllegalArgumentException("shape " + Arrays.toString(shape) + " and " + raw.length + " bytes disagree");
            }
            float[] v = new float[(int) n];
            ByteBuffer.wrap(raw).order(ByteOrder.LITTLE_ENDIAN).asFloatBuffer().get(v);
            return shape.length == 0 ? Nd4j.scalar(v[0]) : Nd4j.create(v, shape, 'c');
        } catch (RuntimeException e) {
            throw new DfqException(where + " is not a dfq4j attachment (shape:base64 float32): " + e.getMessage());
        }
    }
}
