package org.dfq4j.zoo.onnx;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Optional;
import java.util.OptionalDouble;
import java.util.Set;
import java.util.TreeMap;
import onnx.Onnx.AttributeProto;
import onnx.Onnx.GraphProto;
import onnx.Onnx.ModelProto;
import onnx.Onnx.NodeProto;
import onnx.Onnx.OperatorSetIdProto;
import onnx.Onnx.StringStringEntryProto;
import onnx.Onnx.TensorProto;
import org.dfq4j.rewrite.DfqException;
import org.dfq4j.rewrite.graph.Network;
import org.dfq4j.rewrite.graph.NetworkBuilder;
import org.dfq4j.rewrite.graph.NetworkMetadata;
import org.dfq4j.rewrite.graph.OpAttributes;
import org.dfq4j.rewrite.graph.OpKind;
import org.dfq4j.rewrite.graph.WeightLayer;
import org.dfq4j.rewrite.quant.ActivationQuantizer;
import org.dfq4j.rewrite.quant.QuantParams;
import org.dfq4j.rewrite.quant.QuantizeBiases;
import org.dfq4j.rewrite.quant.WeightQuantizers;
import org.dfq4j.rewrite.transform.PerChannelOp;
import org.dfq4j.rewrite.view.GraphView;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;

/**
 * Writes a {@link Network}, as the DFQ rewrites left it, as an ONNX model (opset {@value #OPSET}),
 * reading the graph op by op. A float network becomes a float model. An 8-bit simulation becomes
 * the QDQ format that ONNX Runtime, TensorRT and OpenVINO run as integer networks:
 *
 * <ul>
 *   <li>each activation fake-quant becomes QuantizeLinear -> DequantizeLinear (uint8) with exactly the
 *       scale and zero point ND4J's fake-quant kernel derives from its range ({@link ActivationQuantizer});
 *   <li>weights quantized by {@code QuantizeWeights} are stored as int8 initializers (asymmetric 8-bit
 *       levels 0..255 shifted by -128 with the zero point, so that dequantizing gives the same values)
 *       followed by DequantizeLinear, per tensor or per output channel (axis 0 of a Conv weight, axis 1
 *       of a Gemm weight);
 *   <li>a bias whose layer reads a quantized tensor with quantized weights is stored as int32 at scale
 *       s_in * s_w (per channel with per-channel weights), zero point 0, as ONNX Runtime's own quantizer
 *       writes it and as it fuses DequantizeLinear -> Conv -> QuantizeLinear into QLinearConv;
 *   <li>the per-channel clip min(x, t) that equalization keeps for ReLU6, when a fake-quant follows it,
 *       becomes Q -> DQ -> Min(fq(t)) and then the fake-quant's own Q -> DQ: exact, because a quantizer
 *       is monotone (fq(min(x, t)) = min(fq(x), fq(t))), and it leaves the convolution before it
 *       followed by a QuantizeLinear, so that a runtime can run it as an integer kernel.
 * </ul>
 *
 * Properties and attachments (e.g. an SSD's post-processing options and anchors) travel as
 * {@code metadata_props} ({@link NetworkMetadata}). What ONNX (or this exporter) cannot express is
 * refused with one {@link DfqException} naming the op.
 */
public final class OnnxExporter {

    /** The ONNX opset written (per-axis QuantizeLinear/DequantizeLinear need 13). */
    public static final int OPSET = 13;

    private static final String PRODUCER = "dfq4j";
    private static final String VERSION = "0.1.0";

    /**
     * An exported model and what it holds.
     *
     * @param model                the ONNX model
     * @param nodes                ONNX node count by op type
     * @param int8Weights          weight tensors stored as int8
     * @param floatWeights         weight tensors stored as float
     * @param int32Biases          biases stored as int32 (scale s_in * s_w)
     * @param floatBiases          biases stored as float
     * @param activationQuantizers QuantizeLinear/DequantizeLinear pairs of activations (fake-quants)
     * @param notes                what the export changed or could not do as asked, one line each
     */
    public record Export(ModelProto model, Map<String, Integer> nodes, int int8Weights, int floatWeights,
                         int int32Biases, int floatBiases, int activationQuantizers, List<String> notes) {

        public byte[] bytes() {
            return model.toByteArray();
        }

        /** Whether the model is in QDQ form (has quantized weights or activations). */
        public boolean quantized() {
            return int8Weights > 0 || activationQuantizers > 0;
        }

        /** One line for reports. */
        public String describe() {
            int total = nodes.values().stream().mapToInt(Integer::intValue).sum();
            return String.format(Locale.ROOT, "%s ONNX opset %d, %d nodes: %d weight tensors int8, %d float; "
                    + "%d biases int32, %d float; %d activation quantizers (QuantizeLinear/DequantizeLinear)",
                    quantized() ? "QDQ" : "float", OPSET, total, int8Weights, floatWeights, int32Biases, floatBiases,
                    activationQuantizers);
        }
    }

    private final Network net;
    private final GraphView g;
    private final GraphProto.Builder graph = GraphProto.newBuilder();
    private final Set<String> names = new HashSet<>();
    private final Set<String> initialized = new HashSet<>();
    private final Map<String, long[]> shapes = new HashMap<>();
    /** Zero pads folded into the convolution that reads them: pad op -> its convolution. */
    private final Map<String, String> mergedPads = new HashMap<>();
    /** Bilinear resizes in {@link NetworkBuilder#resizeBilinear}'s matmul form: first op -> the resize. */
    private final Map<String, Resize> resizes = new HashMap<>();
    /** The other ops of those resizes, written as part of the ONNX Resize. */
    private final Set<String> absorbed = new HashSet<>();
    private final Map<String, Integer> nodeCounts = new TreeMap<>();
    private final List<String> notes = new ArrayList<>();
    private int int8Weights;
    private int floatWeights;
    private int int32Biases;
    private int floatBiases;
    private int activationQuantizers;

    private OnnxExporter(Network net) {
        this.net = net;
        this.g = GraphView.of(net);
        if (!g.isWellFormed()) {
            throw new DfqException("cannot export '" + net.name() + "': the graph is not well-formed: "
                    + g.problems().get(0));
        }
        for (var v : net.sameDiff().variables()) {
            names.add(v.name());
        }
    }

    /** Exports a network (not changed). */
    public static Export export(Network net) {
        return new OnnxExporter(net).run();
    }

    private Export run() {
        refuseLowered();
        findMergedPads();
        findResizes();
        measureShapes();
        long[] in = net.inputShape();
        graph.setName(net.name());
        graph.addInput(OnnxProtos.floatValue(net.input(), -1, in[0], in[1], in[2]));
        for (String op : g.ops()) {
            if (!mergedPads.containsKey(op) && !absorbed.contains(op)) {
                try {
                    if (resizes.containsKey(op)) {
                        resize(resizes.get(op));
                    } else {
                        emit(op);
                    }
                } catch (DfqException e) {
                    throw e;
                } catch (RuntimeException e) {
                    throw new DfqException("cannot export op '" + op + "' (" + g.opType(op) + ") to ONNX: " + e);
                }
            }
        }
        for (String o : net.outputs()) {
            if (g.producer(o) == null) {
                throw new DfqException("cannot export '" + net.name() + "': output '" + o + "' is not computed by an op");
            }
            long[] s = shapes.get(o).clone();
            s[0] = -1;
            graph.addOutput(OnnxProtos.floatValue(o, s));
        }
        ModelProto.Builder m = ModelProto.newBuilder().setIrVersion(7).setProducerName(PRODUCER)
                .setProducerVersion(VERSION).setDocString("exported by dfq4j from network '" + net.name() + "'")
                .addOpsetImport(OperatorSetIdProto.newBuilder().setDomain("").setVersion(OPSET)).setGraph(graph);
        NetworkMetadata.encode(net.properties(), net.attachments(), k -> !k.startsWith(WeightQuantizers.PREFIX))
                .forEach((k, v) -> m.addMetadataProps(StringStringEntryProto.newBuilder().setKey(k).setValue(v)));
        return new Export(m.build(), Map.copyOf(nodeCounts), int8Weights, floatWeights, int32Biases, floatBiases,
                activationQuantizers, List.copyOf(notes));
    }

    // ---- preparation ----

    /** A zero spatial pad read only by one convolution (as its input) is folded into the convolution's pads. */
    private void findMergedPads() {
        for (String op : g.ops()) {
            PerChannelOp p = g.kind(op) == OpKind.PAD ? PerChannelOp.classify(g, op) : null;
            if (p == null || p.kind() != PerChannelOp.Kind.ZERO_PAD) {
                continue;
            }
            String out = g.output(op);
            String reader = g.soleConsumer(out);
            WeightLayer l = reader == null ? null : g.weightLayer(reader);
            if (l != null && l.kind() != WeightLayer.Kind.DENSE && l.input().equals(out)) {
                mergedPads.put(op, reader);
            }
        }
    }

    /** A lowered network holds ops ONNX cannot express and weights off their int8 grid: say so first. */
    private void refuseLowered() {
        for (String op : g.ops()) {
            if (isLowered(g.kind(op)) || g.kind(op) == OpKind.RELU6
                    && g.attributes(op).scalar().orElse(Double.NaN) != 0) {
                throw refuse(op, "the network was lowered for ND4J (LowerFakeQuant: scales folded into the weights, "
                        + "rounding by scalar ops); export the network before LowerFakeQuant, with its fake-quant ops");
            }
        }
    }

    /**
     * The scalar clips only LowerFakeQuant's rounding to levels puts into dfq4j's graphs (its usual
     * form is a relu6 with a cutoff near 6, which {@link #refuseLowered} checks too).
     */
    private static boolean isLowered(OpKind kind) {
        return kind == OpKind.MAX_SCALAR || kind == OpKind.MIN_SCALAR;
    }

    /** A bilinear resize of {@code input} to {@code output} [N, C, outH, outW] with an ONNX coordinate mode. */
    private record Resize(String input, String output, long outH, long outW, String mode) {
    }

    /**
     * Finds the bilinear resizes {@link NetworkBuilder#resizeBilinear} built as two products with
     * interpolation matrices (reshape, matmul, reshape, transpose, reshape, matmul, reshape,
     * transpose); each is written as one ONNX Resize, which runtimes run natively and readers map
     * back to the same form. Another chain of those ops is written op by op.
     */
    private void findResizes() {
        for (String op : g.ops()) {
            String first = g.kind(op) == OpKind.RESHAPE ? g.output(op) : "";
            if (!first.endsWith("/rows")) {
                continue;
            }
            String n = first.substring(0, first.length() - "/rows".length());
            List<String> chain = List.of(n + "/rows", n + "/mmulW", n + "/alongW", n + "/swap", n + "/cols",
                    n + "/mmulH", n + "/alongH", n);
            List<OpKind> kinds = List.of(OpKind.RESHAPE, OpKind.MATMUL, OpKind.RESHAPE, OpKind.PERMUTE, OpKind.RESHAPE,
                    OpKind.MATMUL, OpKind.RESHAPE, OpKind.PERMUTE);
            List<String> ops = new ArrayList<>();
            boolean ok = g.isConstant(n + "/Aw") && g.isConstant(n + "/Ah");
            for (int k = 0; ok && k < chain.size(); k++) {
                String p = g.hasVariable(chain.get(k)) ? g.producer(chain.get(k)) : null;
                ok = p != null && g.kind(p) == kinds.get(k)
                        && (k == chain.size() - 1 || g.soleConsumer(chain.get(k)) != null);
                ops.add(p);
            }
            if (!ok) {
                continue;
            }
            INDArray aw = g.constant(n + "/Aw");
            INDArray ah = g.constant(n + "/Ah");
            String mode = coordinateMode(aw, ah);
            if (mode != null) {
                resizes.put(op, new Resize(g.inputs(op).get(0), n, ah.size(1), aw.size(1), mode));
                absorbed.addAll(ops.subList(1, ops.size()));
            }
        }
    }

    /** The ONNX coordinate mode whose interpolation matrices these are, or null. */
    private static String coordinateMode(INDArray aw, INDArray ah) {
        boolean[][] modes = {{false, true}, {true, false}, {false, false}};
        String[] names = {"half_pixel", "align_corners", "asymmetric"};
        for (int k = 0; k < modes.length; k++) {
            INDArray w = NetworkBuilder.interpolation((int) aw.size(0), (int) aw.size(1), modes[k][0], modes[k][1]);
            INDArray h = NetworkBuilder.interpolation((int) ah.size(0), (int) ah.size(1), modes[k][0], modes[k][1]);
            if (w.transpose().equals(aw) && h.transpose().equals(ah)) {
                return names[k];
            }
        }
        return null;
    }

    /** Resize(x, sizes = Shape(x)[0:2] ++ [outH, outW]), linear, with the resize's coordinate mode. */
    private void resize(Resize r) {
        String x = tensor(r.input());
        String shape = fresh(r.output() + "/input_shape");
        node("Shape", List.of(x), shape);
        String zero = fresh(r.output() + "/start");
        initializer(OnnxProtos.int64s(zero, new long[] {0}, 1));
        String two = fresh(r.output() + "/end");
        initializer(OnnxProtos.int64s(two, new long[] {2}, 1));
        String batchAndChannels = fresh(r.output() + "/batch_channels");
        node("Slice", List.of(shape, zero, two), batchAndChannels);
        String spatial = fresh(r.output() + "/out_size");
        initializer(OnnxProtos.int64s(spatial, new long[] {r.outH(), r.outW()}, 2));
        String sizes = fresh(r.output() + "/sizes");
        node("Concat", List.of(batchAndChannels, spatial), sizes, OnnxProtos.integer("axis", 0));
        node("Resize", List.of(x, "", "", sizes), r.output(), OnnxProtos.string("mode", "linear"),
                OnnxProtos.string("coordinate_transformation_mode", r.mode()));
    }

    /** Static shapes from one pass of a batch of one zero image (windows need their input sizes). */
    private void measureShapes() {
        long[] in = net.inputShape();
        shapes.put(net.input(), new long[] {1, in[0], in[1], in[2]});
        List<String> wanted = new ArrayList<>();
        for (String op : g.ops()) {
            if (g.is(op, OpKind.CONV2D, OpKind.DEPTHWISE_CONV2D, OpKind.AVG_POOL, OpKind.MAX_POOL, OpKind.PAD)) {
                String x = g.inputs(op).get(0);
                if (!g.isPlaceholder(x) && !wanted.contains(x)) {
                    wanted.add(x);
                }
            }
        }
        for (String o : net.outputs()) {
            if (!wanted.contains(o)) {
                wanted.add(o);
            }
        }
        net.run(Nd4j.zeros(DataType.FLOAT, 1, in[0], in[1], in[2]), wanted).forEach((k, v) -> shapes.put(k, v.shape()));
    }

    // ---- ops ----

    private void emit(String op) {
        OpKind kind = g.kind(op);
        List<String> in = g.inputs(op);
        OpAttributes a = g.attributes(op);
        switch (kind) {
            case CONV2D, DEPTHWISE_CONV2D -> conv(op);
            case DENSE -> dense(op);
            case FAKE_QUANT -> quantizeDequantize(tensor(in.get(0)), ActivationQuantizer.of(g, op), out(op));
            case BATCH_NORM -> batchNorm(op);
            case RELU -> {
                requireZeroCutoff(op, a);
                node("Relu", List.of(tensor(in.get(0))), out(op));
            }
            case RELU6 -> {
                requireZeroCutoff(op, a);
                node("Clip", List.of(tensor(in.get(0)), scalar(op + "/zero", 0f), scalar(op + "/six", 6f)), out(op));
            }
            case LEAKY_RELU -> node("LeakyRelu", List.of(tensor(in.get(0))), out(op),
                    OnnxProtos.real("alpha", (float) a.leakyReluAlpha().orElseThrow()));
            case SIGMOID -> node("Sigmoid", List.of(tensor(in.get(0))), out(op));
            case TANH -> node("Tanh", List.of(tensor(in.get(0))), out(op));
            case CLIP_BY_VALUE -> {
                double[] t = a.floatArguments();
                node("Clip", List.of(tensor(in.get(0)), scalar(op + "/min", (float) t[0]), scalar(op + "/max", (float) t[1])),
                        out(op));
            }
            case MINIMUM -> minimum(op);
            case MAXIMUM -> binary(op, "Max");
            case ADD -> binary(op, "Add");
            case SUBTRACT -> binary(op, "Sub");
            case MULTIPLY -> binary(op, "Mul");
            case DIVIDE -> binary(op, "Div");
            case CONCAT -> {
                List<String> xs = in.stream().map(this::tensor).toList();
                node("Concat", xs, out(op), OnnxProtos.integer("axis", a.concatAxis()));
            }
            case AVG_POOL, MAX_POOL -> pool(op);
            case MEAN -> mean(op);
            case PAD -> pad(op);
            case RESHAPE -> reshape(op);
            case PERMUTE -> {
                long[] perm = a.integerArguments();
                if (perm.length == 0) {
                    perm = longs(g.constant(in.get(1)));
                }
                node("Transpose", List.of(tensor(in.get(0))), out(op), OnnxProtos.ints("perm", perm));
            }
            case MATMUL -> matMul(op);
            case SOFTMAX -> {
                long[] i = a.integerArguments();
                node("Softmax", List.of(tensor(in.get(0))), out(op), OnnxProtos.integer("axis", i.length > 0 ? i[0] : -1));
            }
            case IDENTITY -> node("Identity", List.of(tensor(in.get(0))), out(op));
            case ADD_SCALAR -> scalarOp(op, "Add", a);
            case MUL_SCALAR -> scalarOp(op, "Mul", a);
            case DIV_SCALAR -> scalarOp(op, "Div", a);
            default -> throw refuse(op, "ONNX export supports the ops of dfq4j's canonical graphs (convolutions, "
                    + "dense layers, activations, elementwise arithmetic, pooling, concat, reshape, transpose, matmul, "
                    + "softmax, fake-quant); " + (isLowered(kind) || kind == OpKind.RINT
                    ? "export the network before LowerFakeQuant, with its fake-quant ops" : "this op has no exporter"));
        }
    }

    private void conv(String op) {
        WeightLayer l = g.weightLayer(op);
        long[] i = g.attributes(op).integerArguments();
        if (l == null || i.length < 9) {
            throw refuse(op, "not a canonical convolution (inputs x, W, b)");
        }
        if (i.length > 9 && i[9] != 0) {
            throw refuse(op, "an NHWC convolution; dfq4j graphs are NCHW");
        }
        boolean depthwise = l.kind() == WeightLayer.Kind.DEPTHWISE;
        String x = l.input();
        long[] extra = {0, 0, 0, 0};
        String pad = g.producer(x);
        if (pad != null && op.equals(mergedPads.get(pad))) {
            INDArray p = g.constant(g.inputs(pad).get(1));
            extra = new long[] {p.getLong(2, 0), p.getLong(3, 0), p.getLong(2, 1), p.getLong(3, 1)};
            x = g.inputs(pad).get(0);
        }
        long[] inShape = shapes.get(l.input());
        boolean same = i[8] == 1 && Arrays.stream(extra).allMatch(p -> p == 0);
        long[] pads = windowPads(op, inShape, i[0], i[1], i[2], i[3], i[4], i[5], i[6], i[7], i[8] == 1);
        for (int k = 0; k < 4; k++) {
            pads[k] += extra[k];
        }
        INDArray w = g.constant(l.weights());
        long channels = w.size(2);
        // [kH,kW,in,out] -> [out,in,kH,kW]; depthwise [kH,kW,C,m] -> [C*m,1,kH,kW], output channel c*m+j
        INDArray onnxW = depthwise
                ? w.permute(2, 3, 0, 1).dup('c').reshape(w.size(2) * w.size(3), 1, w.size(0), w.size(1))
                : w.permute(3, 2, 0, 1).dup('c');
        String input = tensor(x);
        Weights wq = weights(l, onnxW, 0);
        String b = bias(l, wq);
        // TensorFlow's SAME stays SAME_UPPER (the same padding, and a reader builds the same convolution)
        node("Conv", List.of(input, wq.name, b), out(op), OnnxProtos.ints("kernel_shape", i[0], i[1]),
                OnnxProtos.ints("strides", i[2], i[3]), same ? OnnxProtos.string("auto_pad", "SAME_UPPER")
                        : OnnxProtos.ints("pads", pads),
                OnnxProtos.ints("dilations", i[6], i[7]), OnnxProtos.integer("group", depthwise ? channels : 1));
    }

    private void dense(String op) {
        WeightLayer l = g.weightLayer(op);
        if (l == null) {
            throw refuse(op, "not a canonical dense layer (inputs x, W, b)");
        }
        String input = tensor(l.input());
        Weights wq = weights(l, g.constant(l.weights()).dup('c'), 1);
        node("Gemm", List.of(input, wq.name, bias(l, wq)), out(op));
    }

    private void batchNorm(String op) {
        List<String> in = g.inputs(op);
        OpAttributes.BatchNormConfig c = g.attributes(op).batchNorm().orElseThrow();
        if (in.size() != 5) {
            throw refuse(op, "BatchNorm without both gamma and beta");
        }
        if (c.axes().length > 0 && !Arrays.equals(c.axes(), new long[] {1})) {
            throw refuse(op, "BatchNorm over axis " + Arrays.toString(c.axes()) + "; ONNX normalizes axis 1");
        }
        double eps = c.epsilon();
        node("BatchNormalization", List.of(tensor(in.get(0)), tensor(in.get(3)), tensor(in.get(4)), tensor(in.get(1)),
                tensor(in.get(2))), out(op), OnnxProtos.real("epsilon", (float) eps));
    }

    /**
     * min(x, t). When a fake-quant is its only reader and t is a constant: Q -> DQ -> Min(fq(t)) and the
     * fake-quant's own Q -> DQ, exact because a quantizer is monotone and idempotent:
     * fq(min(x, t)) = fq(min(fq(x), fq(t))). fq(t) is computed with the simulation's own arithmetic
     * ({@link ActivationQuantizer#fakeQuantize}), a value on the grid that QuantizeLinear maps to its level.
     */
    private void minimum(String op) {
        List<String> in = g.inputs(op);
        String y = g.output(op);
        String reader = g.soleConsumer(y);
        boolean clip = in.size() == 2 && !g.isConstant(in.get(0)) && g.isConstant(in.get(1)) && reader != null
                && g.kind(reader) == OpKind.FAKE_QUANT;
        if (!clip) {
            binary(op, "Min");
            return;
        }
        ActivationQuantizer q = ActivationQuantizer.of(g, reader);
        if (!(q.scale() > 0)) {
            binary(op, "Min");
            return;
        }
        String xq = fresh(in.get(0) + "/qdq");
        quantizeDequantize(tensor(in.get(0)), q, xq);
        INDArray t = g.constant(in.get(1));
        float[] v = t.castTo(DataType.FLOAT).dup('c').data().asFloat();
        for (int k = 0; k < v.length; k++) {
            v[k] = q.fakeQuantize(v[k]);
        }
        String tq = fresh(in.get(1) + "/fq");
        initializer(OnnxProtos.floats(tq, v, t.shape()));
        node("Min", List.of(xq, tq), y);
    }

    private void binary(String op, String onnxOp) {
        List<String> in = g.inputs(op);
        if (in.size() != 2) {
            throw refuse(op, "expected two inputs, got " + in.size());
        }
        node(onnxOp, List.of(tensor(in.get(0)), tensor(in.get(1))), out(op));
    }

    private void scalarOp(String op, String onnxOp, OpAttributes a) {
        String c = scalar(op + "/scalar", (float) a.scalar().orElseThrow());
        node(onnxOp, List.of(tensor(g.inputs(op).get(0)), c), out(op));
    }

    private void pool(String op) {
        long[] i = g.attributes(op).integerArguments();
        if (i.length < 11 || i[10] != 0) {
            throw refuse(op, "an NHWC pooling; dfq4j graphs are NCHW");
        }
        if (i[6] != 1 || i[7] != 1) {
            throw refuse(op, "a dilated pooling");
        }
        String x = g.inputs(op).get(0);
        long[] pads = windowPads(op, shapes.get(x), i[0], i[1], i[2], i[3], i[4], i[5], 1, 1, i[8] == 1);
        boolean avg = g.kind(op) == OpKind.AVG_POOL;
        List<AttributeProto> attrs = new ArrayList<>(List.of(OnnxProtos.ints("kernel_shape", i[0], i[1]),
                OnnxProtos.ints("strides", i[2], i[3]), i[8] == 1 ? OnnxProtos.string("auto_pad", "SAME_UPPER")
                        : OnnxProtos.ints("pads", pads)));
        if (avg) {
            // libnd4j's extraParam0 (iArgs[9]): 0 = padded cells excluded from the divisor
            attrs.add(OnnxProtos.integer("count_include_pad", i[9] == 0 ? 0 : 1));
        }
        node(avg ? "AveragePool" : "MaxPool", List.of(tensor(x)), out(op), attrs.toArray(AttributeProto[]::new));
    }

    private void mean(String op) {
        OpAttributes a = g.attributes(op);
        int[] d = a.reductionAxes().orElse(null);
        if (d == null || !Arrays.equals(d, new int[] {2, 3})) {
            throw refuse(op, "a mean over axes " + Arrays.toString(d) + "; only the spatial axes (2, 3) are exported");
        }
        boolean keep = a.keepDims();
        if (keep) {
            node("GlobalAveragePool", List.of(tensor(g.inputs(op).get(0))), out(op));
        } else {
            node("ReduceMean", List.of(tensor(g.inputs(op).get(0))), out(op), OnnxProtos.ints("axes", 2, 3),
                    OnnxProtos.integer("keepdims", 0));
        }
    }

    private void pad(String op) {
        OptionalDouble padValue = g.attributes(op).constantPadValue();
        List<String> in = g.inputs(op);
        if (padValue.isEmpty() || in.size() != 2 || !g.isConstant(in.get(1))) {
            throw refuse(op, "only constant-mode padding with constant amounts is exported");
        }
        INDArray amounts = g.constant(in.get(1));
        int rank = (int) amounts.size(0);
        long[] pads = new long[2 * rank];
        for (int a = 0; a < rank; a++) {
            pads[a] = amounts.getLong(a, 0);
            pads[rank + a] = amounts.getLong(a, 1);
        }
        String amountsName = fresh(op + "/pads");
        initializer(OnnxProtos.int64s(amountsName, pads, pads.length));
        float value = (float) padValue.getAsDouble();
        node("Pad", List.of(tensor(in.get(0)), amountsName, scalar(op + "/value", value)), out(op),
                OnnxProtos.string("mode", "constant"));
    }

    private void reshape(String op) {
        long[] i = g.attributes(op).integerArguments();
        List<String> in = g.inputs(op);
        long[] shape;
        if (i.length > 0 && (i[0] == -99 || i[0] == -102)) {
            if (i[0] == -102) {
                throw refuse(op, "a Fortran-order reshape; ONNX reshapes in C order");
            }
            shape = Arrays.copyOfRange(i, 1, i.length);
        } else if (i.length > 0) {
            shape = i;
        } else if (in.size() > 1 && g.isConstant(in.get(1))) {
            shape = longs(g.constant(in.get(1)));
        } else {
            throw refuse(op, "its target shape is computed, not constant");
        }
        if (Arrays.stream(shape).anyMatch(d -> d == 0)) {
            throw refuse(op, "a reshape to a zero-sized dim");
        }
        String target = fresh(op + "/shape");
        initializer(OnnxProtos.int64s(target, shape, shape.length));
        node("Reshape", List.of(tensor(in.get(0)), target), out(op));
    }

    private void matMul(String op) {
        if (!g.attributes(op).matMul().orElseThrow().plain()) {
            throw refuse(op, "a matmul with transposes or a scale; only plain A x B is exported");
        }
        List<String> in = g.inputs(op);
        node("MatMul", List.of(tensor(in.get(0)), tensor(in.get(1))), out(op));
    }

    // ---- quantization ----

    /** x -> QuantizeLinear -> DequantizeLinear -> out, with a clip first when the levels are fewer than uint8's. */
    private void quantizeDequantize(String x, ActivationQuantizer q, String out) {
        if (!(q.scale() > 0)) {
            notes.add("fake-quant of '" + x + "' has a zero range: exported as Identity");
            node("Identity", List.of(x), out);
            return;
        }
        if (q.qMax() > 255) {
            throw new DfqException("cannot export the " + q.bits() + "-bit activation quantizer of '" + x
                    + "' to ONNX opset " + OPSET + " (8 bits at most); quantize activations to 8 bits or fewer");
        }
        String src = x;
        if (x.equals(net.input())) {
            src = snapToLevels(x, q, out);
        } else if (q.qMin() != 0 || q.qMax() != 255) {
            src = fresh(out + "/clipped");
            node("Clip", List.of(x, scalar(out + "/lo", q.lowLevel() * q.scale()),
                    scalar(out + "/hi", q.highLevel() * q.scale())), src);
        }
        String scale = scalar(out + "/scale", q.scale());
        String zero = fresh(out + "/zero_point");
        initializer(OnnxProtos.bytes(zero, false, new int[] {q.zeroPoint()}));
        String quantized = fresh(out + "/quantized");
        node("QuantizeLinear", List.of(src, scale, zero), quantized);
        node("DequantizeLinear", List.of(quantized, scale, zero), out);
        activationQuantizers++;
    }

    /**
     * The network input rounded to its quantizer's levels with the simulation's own float32 arithmetic,
     * floor((clip(x) - min) / s + 0.5) * s + min (ND4J's fake-quant kernel). Preprocessing such as
     * x / 127.5 - 1 puts every pixel exactly halfway between two levels of a grid that holds 0, where
     * that arithmetic's float rounding decides the level and QuantizeLinear would round ties to even;
     * on the snapped values QuantizeLinear finds the same levels, so the file's input equals the
     * simulation's bit for bit. A runtime fed with already quantized images skips these ops.
     */
    private String snapToLevels(String x, ActivationQuantizer q, String out) {
        float min = q.lowLevel() * q.scale();
        float max = q.highLevel() * q.scale();
        String lo = scalar(out + "/lo", min);
        String s = scalar(out + "/step", q.scale());
        String clipped = fresh(out + "/clipped");
        node("Clip", List.of(x, lo, scalar(out + "/hi", max)), clipped);
        String shifted = fresh(out + "/shifted");
        node("Sub", List.of(clipped, lo), shifted);
        String scaled = fresh(out + "/scaled");
        node("Div", List.of(shifted, s), scaled);
        String half = fresh(out + "/half");
        node("Add", List.of(scaled, scalar(out + "/one_half", 0.5f)), half);
        String level = fresh(out + "/level");
        node("Floor", List.of(half), level);
        String times = fresh(out + "/times_step");
        node("Mul", List.of(level, s), times);
        String snapped = fresh(out + "/snapped");
        node("Add", List.of(times, lo), snapped);
        return snapped;
    }

    /** A layer's weights in ONNX layout and how they were written. */
    private record Weights(String name, List<QuantParams> params, boolean quantized) {
    }

    /**
     * The weights as a float initializer, or, when {@code QuantizeWeights} recorded their quantizers,
     * as int8 levels with DequantizeLinear (per output channel along {@code axis} of the ONNX tensor).
     */
    private Weights weights(WeightLayer l, INDArray onnxW, int axis) {
        Optional<List<QuantParams>> recorded = WeightQuantizers.of(net, l.weights());
        float[] w = onnxW.castTo(DataType.FLOAT).dup('c').data().asFloat();
        long[] shape = onnxW.shape();
        if (recorded.isEmpty()) {
            String name = fresh(l.weights());
            initializer(OnnxProtos.floats(name, w, shape));
            floatWeights++;
            if (net.properties().containsKey(org.dfq4j.rewrite.quant.QuantizeWeights.PROPERTY)) {
                notes.add("layer '" + l.op() + "': no recorded weight quantizer; weights written as float");
            }
            return new Weights(name, List.of(), false);
        }
        List<QuantParams> qs = recorded.get();
        int channels = qs.size();
        long out = shape[axis];
        if (channels != 1 && channels != out) {
            throw refuse(l.op(), "its " + channels + " recorded weight quantizers match neither the tensor nor its "
                    + out + " output channels");
        }
        long qMin = qs.get(0).qMin();
        long qMax = qs.get(0).qMax();
        if (qs.stream().anyMatch(p -> p.qMin() != qMin || p.qMax() != qMax) || qMax - qMin > 255) {
            throw new DfqException("cannot export the weights of layer '" + l.op() + "' as int8: levels [" + qMin + ", "
                    + qMax + "] need more than 8 bits; quantize weights to 8 bits or fewer");
        }
        // asymmetric 8-bit levels 0..255 are stored as int8 with -128 added to levels and zero point alike
        int shift = qMax > 127 ? -128 : 0;
        int[] levels = new int[w.length];
        long inner = 1;
        for (int d = axis + 1; d < shape.length; d++) {
            inner *= shape[d];
        }
        for (int k = 0; k < w.length; k++) {
            int c = channels == 1 ? 0 : (int) ((k / inner) % out);
            QuantParams p = qs.get(c);
            long q = p.scale() == 0 ? p.zeroPoint() : Math.round(w[k] / p.scale()) + p.zeroPoint();
            double back = p.dequantize(q);
            if (q < qMin || q > qMax || Math.abs(back - w[k]) > 1e-5 * Math.max(p.scale(), Math.abs(w[k]))) {
                throw new DfqException("cannot export the weights of layer '" + l.op() + "' as int8: value " + w[k]
                        + " is not on the grid of its recorded quantizer (the weights changed after quantization)");
            }
            levels[k] = (int) q + shift;
        }
        float[] scales = WeightQuantizers.scales(qs);
        int[] zeros = new int[channels];
        for (int c = 0; c < channels; c++) {
            zeros[c] = (int) qs.get(c).zeroPoint() + shift;
        }
        String q = fresh(l.weights() + "/quantized");
        initializer(OnnxProtos.bytes(q, true, levels, shape));
        long[] dims = channels == 1 ? new long[0] : new long[] {channels};
        String s = fresh(l.weights() + "/scale");
        initializer(OnnxProtos.floats(s, scales, dims));
        String z = fresh(l.weights() + "/zero_point");
        initializer(OnnxProtos.bytes(z, true, zeros, dims));
        String name = fresh(l.weights());
        if (channels == 1) {
            node("DequantizeLinear", List.of(q, s, z), name);
        } else {
            node("DequantizeLinear", List.of(q, s, z), name, OnnxProtos.integer("axis", axis));
        }
        int8Weights++;
        return new Weights(name, qs, true);
    }

    /**
     * The bias: int32 at scale s_in * s_w when the layer reads a fake-quantized tensor and its weights
     * are int8 (what integer kernels take; {@link QuantizeBiases} rounded the simulation's bias to the
     * same levels), float otherwise or when a value does not fit 32 bits.
     */
    private String bias(WeightLayer l, Weights w) {
        float[] b = g.constant(l.bias()).castTo(DataType.FLOAT).dup('c').data().asFloat();
        ActivationQuantizer in = QuantizeBiases.inputQuantizer(g, l);
        if (w.quantized && in != null) {
            float[] scales = QuantizeBiases.biasScales(in, w.params);
            int n = scales.length;
            int[] q = new int[b.length];
            boolean fits = true;
            for (int k = 0; k < b.length && fits; k++) {
                double v = Math.rint(b[k] / (double) scales[n == 1 ? 0 : k]);
                fits = Math.abs(v) <= Integer.MAX_VALUE;
                q[k] = (int) v;
            }
            if (fits) {
                long[] dims = n == 1 ? new long[0] : new long[] {n};
                String qb = fresh(l.bias() + "/quantized");
                initializer(OnnxProtos.int32s(qb, q, b.length));
                String s = fresh(l.bias() + "/scale");
                initializer(OnnxProtos.floats(s, scales, dims));
                String z = fresh(l.bias() + "/zero_point");
                initializer(OnnxProtos.int32s(z, new int[n], dims));
                String name = fresh(l.bias());
                if (n == 1) {
                    node("DequantizeLinear", List.of(qb, s, z), name);
                } else {
                    node("DequantizeLinear", List.of(qb, s, z), name, OnnxProtos.integer("axis", 0));
                }
                int32Biases++;
                return name;
            }
            notes.add("layer '" + l.op() + "': bias does not fit int32 at scale s_in * s_w; written as float");
        }
        String name = fresh(l.bias());
        initializer(OnnxProtos.floats(name, b, b.length));
        floatBiases++;
        return name;
    }

    // ---- helpers ----

    /**
     * ONNX pads [top, left, bottom, right] of a window over an input [N, C, H, W]: TensorFlow's SAME
     * rule (output ceil(in / stride), the odd cell at the end), or the explicit symmetric pads.
     */
    private long[] windowPads(String op, long[] in, long kH, long kW, long sH, long sW, long pH, long pW, long dH,
                              long dW, boolean same) {
        if (!same) {
            return new long[] {pH, pW, pH, pW};
        }
        if (in == null || in.length != 4) {
            throw refuse(op, "its input shape is unknown");
        }
        long[] p = new long[4];
        long[][] dims = {{in[2], kH, sH, dH}, {in[3], kW, sW, dW}};
        for (int a = 0; a < 2; a++) {
            long size = dims[a][0];
            long k = (dims[a][1] - 1) * dims[a][3] + 1;
            long s = dims[a][2];
            long outSize = (size + s - 1) / s;
            long total = Math.max(0, (outSize - 1) * s + k - size);
            p[a] = total / 2;
            p[a + 2] = total - total / 2;
        }
        return p;
    }

    private static void requireZeroCutoff(String op, OpAttributes a) {
        if (a.scalar().orElse(Double.NaN) != 0) {
            throw refuse(op, "a ReLU with a nonzero cutoff");
        }
    }

    /** The ONNX name of a variable read by an op: constants become initializers (once). */
    private String tensor(String var) {
        if (g.isConstant(var) && initialized.add(var)) {
            INDArray a = g.constant(var);
            if (a.dataType().isFPType()) {
                initializer(OnnxProtos.floats(var, a.castTo(DataType.FLOAT).dup('c').data().asFloat(), a.shape()));
            } else {
                initializer(OnnxProtos.int64s(var, longs(a), a.shape()));
            }
        }
        return var;
    }

    private static long[] longs(INDArray a) {
        return a.castTo(DataType.LONG).dup('c').data().asLong();
    }

    private String out(String op) {
        return g.output(op);
    }

    private String scalar(String base, float v) {
        String name = fresh(base);
        initializer(OnnxProtos.floats(name, new float[] {v}));
        return name;
    }

    private void initializer(TensorProto t) {
        graph.addInitializer(t);
    }

    private void node(String type, List<String> inputs, String output, AttributeProto... attributes) {
        NodeProto.Builder n = NodeProto.newBuilder().setOpType(type).setName(output + "/" + type)
                .addAllInput(inputs).addOutput(output);
        for (AttributeProto a : attributes) {
            n.addAttribute(a);
        }
        graph.addNode(n);
        nodeCounts.merge(type, 1, Integer::sum);
    }

    /** A tensor name no variable or earlier tensor has. */
    private String fresh(String base) {
        String name = base;
        for (int k = 2; !names.add(name); k++) {
            name = base + "_" + k;
        }
        return name;
    }

    private static DfqException refuse(String op, String why) {
        return new DfqException("cannot export op '" + op + "' to ONNX: " + why);
    }
}
