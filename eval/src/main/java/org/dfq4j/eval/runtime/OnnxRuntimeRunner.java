package org.dfq4j.eval.runtime;

import ai.onnxruntime.NodeInfo;
import ai.onnxruntime.OnnxTensor;
import ai.onnxruntime.OnnxValue;
import ai.onnxruntime.OrtEnvironment;
import ai.onnxruntime.OrtException;
import ai.onnxruntime.OrtLoggingLevel;
import ai.onnxruntime.OrtSession;
import ai.onnxruntime.TensorInfo;
import java.io.IOException;
import java.nio.FloatBuffer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.TreeMap;
import onnx.Onnx.ModelProto;
import onnx.Onnx.NodeProto;
import org.dfq4j.rewrite.DfqException;
import org.dfq4j.rewrite.graph.NetworkMetadata;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;

/**
 * Runs an ONNX model in ONNX Runtime (CPU) as a {@link Runner}: one float NCHW image input, float
 * outputs. A QDQ model (QuantizeLinear/DequantizeLinear) runs in one of two {@link Mode}s.
 *
 * <p>At session creation ONNX Runtime writes the graph it will execute (after its fusions) to a
 * temporary file; {@link #kernels()} counts its op types, so a caller can see whether a QDQ model
 * runs as QLinearConv and friends or as float ops.
 */
public final class OnnxRuntimeRunner implements Runner, AutoCloseable {

    /** How ONNX Runtime treats QuantizeLinear/DequantizeLinear pairs (float models run alike in both). */
    public enum Mode {
        /** ONNX Runtime's default: DQ -> op -> Q groups fused into integer kernels (what deployment gets). */
        INT8("integer kernels (QDQ fused)"),
        /** QDQ fusion disabled ({@code session.disable_quant_qdq}): every Q and DQ runs as written, a float
         * fake-quant simulation of the same quantizers at ONNX Runtime's speed. Its layers round in float32
         * where the integer kernels accumulate exactly, so a value on a level boundary can land on either
         * level; in a deep 8-bit network such one-level differences multiply layer by layer. */
        SIMULATE("QDQ fusion disabled (float simulation of the quantizers)");

        private final String description;

        Mode(String description) {
            this.description = description;
        }

        public String description() {
            return description;
        }

        @Override
        public String toString() {
            return name().toLowerCase(Locale.ROOT);
        }
    }

    private final String name;
    private final OrtEnvironment env;
    private final OrtSession session;
    private final String input;
    private final long[] inputShape;
    private final List<String> outputs;
    private final Map<String, String> properties;
    private final Map<String, INDArray> attachments;
    private final Map<String, Integer> kernels;
    private final Mode mode;
    private final int threads;

    private OnnxRuntimeRunner(String name, byte[] model, Mode mode, int threads, String where) {
        this.name = name;
        this.mode = mode;
        this.threads = threads;
        this.env = OrtEnvironment.getEnvironment();
        Path optimized = null;
        try (OrtSession.SessionOptions o = new OrtSession.SessionOptions()) {
            o.setOptimizationLevel(OrtSession.SessionOptions.OptLevel.ALL_OPT);
            o.setExecutionMode(OrtSession.SessionOptions.ExecutionMode.SEQUENTIAL);
            o.setIntraOpNumThreads(threads);
            o.setInterOpNumThreads(1);
            o.setSessionLogLevel(OrtLoggingLevel.ORT_LOGGING_LEVEL_ERROR);
            if (mode == Mode.SIMULATE) {
                o.addConfigEntry("session.disable_quant_qdq", "1");
            }
            o.addConfigEntry("session.x64quantprecision", "1");
            optimized = Files.createTempFile("dfq-ort-optimized", ".onnx");
            o.setOptimizedModelFilePath(optimized.toString());
            this.session = env.createSession(model, o);
            this.kernels = opTypes(optimized);
        } catch (OrtException e) {
            throw new DfqException("ONNX Runtime cannot load " + where + ": " + oneLine(e));
        } catch (IOException e) {
            throw new DfqException("ONNX Runtime: cannot write its optimized graph to a temporary file: " + e.getMessage());
        } finally {
            if (optimized != null) {
                try {
                    Files.deleteIfExists(optimized);
                } catch (IOException ignored) {
                    // best effort
                }
            }
        }
        try {
            Map<String, NodeInfo> in = session.getInputInfo();
            if (in.size() != 1 || !(in.values().iterator().next().getInfo() instanceof TensorInfo t)
                    || t.type != ai.onnxruntime.OnnxJavaType.FLOAT || t.getShape().length != 4) {
                throw new DfqException(where + ": ONNX Runtime runs models with one float NCHW image input here; this one "
                        + "has inputs " + in.keySet());
            }
            long[] s = t.getShape();
            if (s[1] <= 0 || s[2] <= 0 || s[3] <= 0) {
                throw new DfqException(where + ": input '" + in.keySet().iterator().next() + "' has symbolic dims "
                        + Arrays.toString(s) + "; give a model whose C, H and W are fixed");
            }
            this.input = in.keySet().iterator().next();
            this.inputShape = new long[] {s[1], s[2], s[3]};
            this.outputs = List.copyOf(session.getOutputNames());
            Map<String, String> meta = session.getMetadata().getCustomMetadata();
            this.properties = new LinkedHashMap<>(NetworkMetadata.properties(meta));
            this.attachments = new LinkedHashMap<>(NetworkMetadata.attachments(meta, where));
        } catch (OrtException e) {
            close();
            throw new DfqException("ONNX Runtime cannot inspect " + where + ": " + oneLine(e));
        } catch (RuntimeException e) {
            close();
            throw e;
        }
    }

    /** A model held in memory (e.g. just exported). */
    public static OnnxRuntimeRunner open(byte[] model, String name, Mode mode, int threads) {
        return new OnnxRuntimeRunner(name, model, mode, threads, "model '" + name + "'");
    }

    /** A model file; the runner is named after the file. */
    public static OnnxRuntimeRunner open(Path file, Mode mode, int threads) {
        byte[] bytes;
        try {
            bytes = Files.readAllBytes(file);
        } catch (IOException e) {
            throw new DfqException("cannot read ONNX model " + file + ": " + e.getMessage());
        }
        String stem = file.getFileName().toString().replaceFirst("\\.onnx$", "");
        return new OnnxRuntimeRunner(stem, bytes, mode, threads, file.toString());
    }

    @Override
    public String name() {
        return name;
    }

    @Override
    public long[] inputShape() {
        return inputShape.clone();
    }

    public Mode mode() {
        return mode;
    }

    public int threads() {
        return threads;
    }

    public List<String> outputNames() {
        return outputs;
    }

    @Override
    public Map<String, String> properties() {
        return properties;
    }

    @Override
    public Map<String, INDArray> attachments() {
        return attachments;
    }

    /** Op types (with their domain unless it is ONNX's own) of the graph ONNX Runtime executes, with counts. */
    public Map<String, Integer> kernels() {
        return kernels;
    }

    /** Of {@link #kernels()}, the integer ones (QLinear*, *Integer, QGemm...): evidence of int8 execution. */
    public Map<String, Integer> integerKernels() {
        Map<String, Integer> out = new TreeMap<>();
        kernels.forEach((k, v) -> {
            String op = k.substring(k.lastIndexOf('.') + 1);
            if (op.startsWith("QLinear") || op.endsWith("Integer") || op.equals("QGemm") || op.equals("QAttention")) {
                out.put(k, v);
            }
        });
        return out;
    }

    /** One line: the mode and the kernels ONNX Runtime chose, integer ones first. */
    public String describe() {
        Map<String, Integer> ints = integerKernels();
        long conv = kernels.entrySet().stream().filter(e -> e.getKey().endsWith("Conv") && !ints.containsKey(e.getKey()))
                .mapToLong(Map.Entry::getValue).sum();
        return "ONNX Runtime " + ai.onnxruntime.OrtEnvironment.getEnvironment().getVersion() + ", " + threads
                + " threads, " + mode.description() + "; integer kernels: " + (ints.isEmpty() ? "none" : format(ints))
                + (conv > 0 ? "; float convolutions: " + conv : "");
    }

    @Override
    public synchronized Map<String, INDArray> run(INDArray batch) {
        long[] s = batch.shape();
        if (s.length != 4 || s[1] != inputShape[0] || s[2] != inputShape[1] || s[3] != inputShape[2]) {
            throw new IllegalArgumentException("model '" + name + "' takes input [N," + inputShape[0] + ","
                    + inputShape[1] + "," + inputShape[2] + "], got " + Arrays.toString(s));
        }
        float[] data = batch.castTo(DataType.FLOAT).dup('c').data().asFloat();
        try (OnnxTensor x = OnnxTensor.createTensor(env, FloatBuffer.wrap(data), s);
             OrtSession.Result r = session.run(Map.of(input, x))) {
            Map<String, INDArray> out = new LinkedHashMap<>();
            for (Map.Entry<String, OnnxValue> e : r) {
                if (!(e.getValue() instanceof OnnxTensor t) || t.getInfo().type != ai.onnxruntime.OnnxJavaType.FLOAT) {
                    throw new DfqException("model '" + name + "' output '" + e.getKey() + "' is not a float tensor");
                }
                FloatBuffer fb = t.getFloatBuffer();
                float[] v = new float[fb.remaining()];
                fb.get(v);
                long[] shape = t.getInfo().getShape();
                out.put(e.getKey(), shape.length == 0 ? Nd4j.scalar(v[0]) : Nd4j.create(v, shape, 'c'));
            }
            return out;
        } catch (OrtException e) {
            throw new DfqException("ONNX Runtime failed to run model '" + name + "': " + oneLine(e));
        }
    }

    @Override
    public void close() {
        try {
            session.close();
        } catch (OrtException | RuntimeException e) {
            // closing twice or after a failed start: nothing to release
        }
    }

    private static Map<String, Integer> opTypes(Path optimized) throws IOException {
        Map<String, Integer> counts = new TreeMap<>();
        if (Files.size(optimized) == 0) {
            return counts;
        }
        ModelProto m = ModelProto.parseFrom(Files.readAllBytes(optimized));
        for (NodeProto n : m.getGraph().getNodeList()) {
            String domain = n.getDomain().isEmpty() || n.getDomain().equals("ai.onnx") ? "" : n.getDomain() + ".";
            counts.merge(domain + n.getOpType(), 1, Integer::sum);
        }
        return counts;
    }

    /** "QLinearConv 52, QLinearAdd 10" (largest first). */
    public static String format(Map<String, Integer> counts) {
        StringBuilder sb = new StringBuilder();
        counts.entrySet().stream().sorted((a, b) -> b.getValue() - a.getValue()).forEach(e ->
                sb.append(sb.length() > 0 ? ", " : "").append(e.getKey()).append(' ').append(e.getValue()));
        return sb.toString();
    }

    private static String oneLine(Throwable e) {
        String m = e.getMessage() == null ? e.getClass().getSimpleName() : e.getMessage();
        return m.replaceAll("\\s+", " ").trim();
    }
}
