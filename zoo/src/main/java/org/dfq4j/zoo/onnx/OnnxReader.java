package org.dfq4j.zoo.onnx;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import onnx.Onnx.GraphProto;
import onnx.Onnx.ModelProto;
import onnx.Onnx.NodeProto;
import onnx.Onnx.OperatorSetIdProto;
import onnx.Onnx.TensorProto;
import onnx.Onnx.TensorShapeProto;
import onnx.Onnx.ValueInfoProto;
import org.dfq4j.rewrite.DfqException;
import org.dfq4j.rewrite.graph.ModelChecks;
import org.dfq4j.rewrite.graph.Network;
import org.dfq4j.rewrite.graph.NetworkBuilder;
import org.dfq4j.rewrite.graph.NetworkMetadata;
import org.dfq4j.zoo.onnx.Value.GraphTensor;

/**
 * Reads an ONNX model (a CNN with one NCHW float image input) into a {@link Network} built through
 * {@link NetworkBuilder}, so the graph holds the project's canonical op forms rather than the
 * op-per-ONNX-primitive graph of ND4J's generic importer. Shape arithmetic around flattens and views
 * is evaluated at import. Properties: {@code format=onnx}, {@code source=<path>}, {@code opset},
 * {@code producer}.
 */
public final class OnnxReader {

    /**
     * Every op of the default ONNX domain the reader converts, with what it accepts (what
     * {@code dfq info --supported-ops} prints); anything else is refused with a one-line error.
     */
    public static final Map<String, String> SUPPORTED_OPS = supportedOps();

    private OnnxReader() {
    }

    private static Map<String, String> supportedOps() {
        Map<String, String> m = new java.util.TreeMap<>();
        m.put("Add", "graph + graph (residual, broadcasting) or graph + constant; MatMul + Add becomes one dense layer");
        m.put("AveragePool", "2-D, strides, pads (symmetric or SAME-equivalent), count_include_pad=0 with padding; "
                + "ceil_mode only where it leaves the output size unchanged");
        m.put("BatchNormalization", "inference form (running statistics), kept for DFQ to fold");
        m.put("Cast", "shape arithmetic; a graph tensor to float");
        m.put("Clip", "any bounds (0..6 is ReLU6, 0..inf is ReLU)");
        m.put("Concat", "graph tensors along any axis but the batch; constants (shape arithmetic)");
        m.put("Constant", "value, value_float(s), value_int(s)");
        m.put("ConstantOfShape", "shape arithmetic");
        m.put("Conv", "2-D, any group count (depthwise with multiplier; other groups as block-diagonal kernels), "
                + "strides, pads, auto_pad, dilations");
        m.put("Div", "graph / constant (a nonzero constant); constants");
        m.put("Dropout", "inference: identity");
        m.put("DequantizeLinear", "of an integer initializer (uint8, int8, 16-bit, int32 biases; per tensor or per axis): "
                + "dequantized at import as (q - z) * s; after a QuantizeLinear: the pair is one fake-quant");
        m.put("Flatten", "axis 1 of a graph tensor; constants");
        m.put("Floor", "");
        m.put("Gather", "constant indices along an axis other than the batch (x[:, i]); shape arithmetic");
        m.put("Gemm", "[N, K] x constant B (transB 0 or 1) + C, alpha = beta = 1");
        m.put("GlobalAveragePool", "any rank >= 3");
        m.put("HardSigmoid", "any alpha, beta");
        m.put("HardSwish", "");
        m.put("Identity", "");
        m.put("LeakyRelu", "any alpha");
        m.put("MatMul", "[N, K] x constant [K, M] (a dense layer; a following Add of a vector is its bias)");
        m.put("Max", "two inputs: graph and graph or constant (broadcasting)");
        m.put("MaxPool", "2-D, strides, pads, ceil_mode (the extra windows see only the input)");
        m.put("Min", "two inputs: graph and graph or constant (e.g. a per-channel clip)");
        m.put("Mul", "graph x graph (e.g. squeeze-excitation, SiLU) or graph x constant; constants");
        m.put("Pad", "zero padding of the spatial axes");
        m.put("QuantizeLinear", "followed by DequantizeLinear with the same scale and zero point: a fake-quant "
                + "(uint8, int8 or 16-bit levels, per tensor or per axis; also com.microsoft's)");
        m.put("ReduceMean", "any axes but the batch, any rank, keepdims 0 or 1");
        m.put("Relu", "");
        m.put("Reshape", "any shape that keeps the batch axis first (0 and -1 as ONNX defines them)");
        m.put("Resize", "bilinear (align_corners, half_pixel, pytorch_half_pixel, asymmetric); nearest by whole factors");
        m.put("Shape", "shape arithmetic, folded at import");
        m.put("Sigmoid", "");
        m.put("Slice", "graph tensors along axes other than the batch with positive steps (e.g. torch.chunk); constants");
        m.put("Softmax", "over the channel axis");
        m.put("Split", "graph tensors along an axis other than the batch, sizes given or equal parts");
        m.put("Squeeze", "axes other than the batch; constants");
        m.put("Sub", "graph - constant; constants");
        m.put("Transpose", "graph tensors of any rank when the batch axis stays first (channel shuffle); constants");
        m.put("Unsqueeze", "axes other than the batch; constants");
        m.put("Upsample", "as Resize (opsets 7-9)");
        return java.util.Collections.unmodifiableMap(m);
    }

    /**
     * The properties dfq4j's exporter recorded in a file's metadata_props (e.g. {@code preprocess}, the
     * preprocessing the exported network expects), read without reading the graph; empty for other files
     * and for a file that cannot be read (reading it properly then says why).
     */
    public static Map<String, String> exportedProperties(Path file) {
        try (java.io.InputStream in = new java.io.BufferedInputStream(Files.newInputStream(file), 1 << 16)) {
            return NetworkMetadata.properties(ProtoBytes.metadata(in));
        } catch (IOException | RuntimeException e) {
            return Map.of();
        }
    }

    /** Reads a model whose input declares fixed channel, height and width. */
    public static Network read(Path file) {
        return read(file, null);
    }

    /**
     * Reads a model, fixing its input to {@code chw = [C, H, W]} (for models whose input dims are
     * symbolic); {@code null} takes the dims the file declares.
     */
    public static Network read(Path file, long[] chw) {
        try {
            return convert(file, chw);
        } catch (DfqException e) {
            throw e;
        } catch (RuntimeException e) {
            throw new DfqException(file + ": cannot convert the ONNX model: " + oneLine(e));
        }
    }

    private static Network convert(Path file, long[] chw) {
        String where = file.toString();
        ModelProto model = parse(file);
        GraphProto g = model.getGraph();
        int opset = opset(model, where);
        Set<String> initializers = new HashSet<>();
        for (TensorProto t : g.getInitializerList()) {
            initializers.add(t.getName());
        }
        List<ValueInfoProto> inputs = g.getInputList().stream()
                .filter(v -> !initializers.contains(v.getName())).toList();
        if (inputs.size() != 1) {
            throw new DfqException(where + ": the model has " + inputs.size() + " graph inputs "
                    + inputs.stream().map(ValueInfoProto::getName).toList() + "; the ONNX reader takes models with one image input");
        }
        ValueInfoProto input = inputs.get(0);
        long[] declared = declaredShape(input, where);
        long[] shape = inputShape(input.getName(), declared, chw, where);
        String bad = ModelChecks.inputProblem(shape[0], shape[1], shape[2]);
        if (bad != null) {
            throw new DfqException(where + ": input '" + input.getName() + "': " + bad);
        }
        String name = file.getFileName().toString().replaceFirst("\\.onnx$", "");
        NetworkBuilder builder = new NetworkBuilder(name, shape[0], shape[1], shape[2]);
        OnnxConverter converter = new OnnxConverter(opset, builder, Math.max(0, declared[0]), uses(g));
        converter.defineInput(input.getName(), shape);
        for (TensorProto t : g.getInitializerList()) {
            converter.defineConstant(t.getName(), TensorDecoder.decode(t, where), t.getDataType());
        }
        for (int i = 0; i < g.getNodeCount(); i++) {
            OnnxNode node = new OnnxNode(g.getNode(i), where, i);
            try {
                converter.convert(node);
            } catch (DfqException e) {
                throw e;
            } catch (RuntimeException e) {
                throw node.error("conversion failed: " + oneLine(e));
            }
        }
        List<String> outputs = new ArrayList<>();
        for (ValueInfoProto o : g.getOutputList()) {
            Value v = converter.lookup(o.getName());
            if (!(v instanceof GraphTensor t)) {
                throw new DfqException(where + ": graph output '" + o.getName() + "' is "
                        + (v == null ? "not produced by any node" : "a constant") + "; nothing to compute");
            }
            outputs.add(t.var().name());
        }
        if (outputs.isEmpty()) {
            throw new DfqException(where + ": the model declares no graph outputs");
        }
        // what dfq4j's exporter carried over (e.g. an SSD's post-processing options and anchors)
        Map<String, String> meta = new HashMap<>();
        model.getMetadataPropsList().forEach(e -> meta.put(e.getKey(), e.getValue()));
        Map<String, String> properties = new LinkedHashMap<>(NetworkMetadata.properties(meta));
        properties.put("format", "onnx");
        properties.put("source", where);
        properties.put("opset", Integer.toString(opset));
        properties.put("producer", (model.getProducerName() + " " + model.getProducerVersion()).trim());
        Network net = builder.build(outputs.toArray(String[]::new)).withProperties(properties)
                .withAttachments(NetworkMetadata.attachments(meta, where));
        return ModelChecks.requireUsable(net, where);
    }

    private static ModelProto parse(Path file) {
        byte[] bytes;
        try {
            bytes = Files.readAllBytes(file);
        } catch (IOException e) {
            throw new DfqException("cannot read ONNX model " + file + ": " + oneLine(e));
        }
        ModelProto model;
        try {
            model = ModelProto.parseFrom(bytes);
        } catch (IOException | RuntimeException e) { // a malformed protobuf is an IOException
            throw new DfqException(file + ": not a readable ONNX model (truncated or corrupt protobuf: " + oneLine(e) + ")");
        }
        if (!model.hasGraph() || model.getGraph().getNodeCount() == 0 || model.getIrVersion() <= 0) {
            throw new DfqException(file + ": not an ONNX model (no IR version or no graph nodes); is the file truncated or of another format?");
        }
        return model;
    }

    private static int opset(ModelProto model, String where) {
        for (OperatorSetIdProto o : model.getOpsetImportList()) {
            if (o.getDomain().isEmpty() || o.getDomain().equals("ai.onnx")) {
                return (int) o.getVersion();
            }
        }
        throw new DfqException(where + ": the model imports no default (ai.onnx) opset");
    }

    /** The input's dims, -1 where symbolic or absent. */
    private static long[] declaredShape(ValueInfoProto input, String where) {
        if (!input.getType().hasTensorType() || input.getType().getTensorType().getElemType() != TensorProto.DataType.FLOAT_VALUE) {
            throw new DfqException(where + ": input '" + input.getName() + "' is not a float tensor");
        }
        TensorShapeProto s = input.getType().getTensorType().getShape();
        if (s.getDimCount() != 4) {
            throw new DfqException(where + ": input '" + input.getName() + "' has rank " + s.getDimCount()
                    + "; the ONNX reader takes NCHW image inputs (rank 4)");
        }
        long[] dims = new long[4];
        for (int i = 0; i < 4; i++) {
            TensorShapeProto.Dimension d = s.getDim(i);
            dims[i] = d.hasDimValue() && d.getDimValue() > 0 ? d.getDimValue() : -1;
        }
        return dims;
    }

    private static long[] inputShape(String input, long[] declared, long[] chw, String where) {
        long[] fixed = Arrays.copyOfRange(declared, 1, 4);
        if (chw == null) {
            if (Arrays.stream(fixed).anyMatch(d -> d < 0)) {
                throw new DfqException(where + ": input '" + input + "' has symbolic dims " + Arrays.toString(fixed)
                        + " (C,H,W); give the input shape (dfq: --input-shape C,H,W, e.g. 3,224,224)");
            }
            return fixed;
        }
        if (chw.length != 3 || Arrays.stream(chw).anyMatch(d -> d <= 0)) {
            throw new DfqException(where + ": input shape must be three positive dims [C,H,W], got " + Arrays.toString(chw));
        }
        for (int i = 0; i < 3; i++) {
            if (fixed[i] > 0 && fixed[i] != chw[i]) {
                throw new DfqException(where + ": input '" + input + "' is declared " + Arrays.toString(fixed)
                        + " (C,H,W), which contradicts the given " + Arrays.toString(chw));
            }
        }
        return chw.clone();
    }

    /** How many node inputs and graph outputs read each tensor name. */
    private static Map<String, Integer> uses(GraphProto g) {
        Map<String, Integer> uses = new HashMap<>();
        for (NodeProto n : g.getNodeList()) {
            for (int i = 0; i < n.getInputCount(); i++) {
                uses.merge(n.getInput(i), 1, Integer::sum);
            }
        }
        for (ValueInfoProto o : g.getOutputList()) {
            uses.merge(o.getName(), 1, Integer::sum);
        }
        return uses;
    }

    /** A throwable as one line, its class named unless the message is a sentence of ours. */
    private static String oneLine(Throwable e) {
        String m = e.getMessage() == null ? "" : e.getMessage().replaceAll("\\s+", " ").trim();
        return e instanceof DfqException ? m : e.getClass().getSimpleName() + (m.isEmpty() ? "" : ": " + m);
    }
}
