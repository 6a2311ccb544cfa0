package org.dfq4j.zoo.onnx;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.function.BinaryOperator;
import onnx.Onnx.AttributeProto;
import org.dfq4j.rewrite.graph.ModelChecks;
import org.dfq4j.rewrite.graph.NetworkBuilder;
import org.dfq4j.rewrite.graph.Padding;
import org.dfq4j.zoo.onnx.Value.GraphTensor;
import org.dfq4j.zoo.onnx.Value.HostConstant;
import org.nd4j.autodiff.samediff.SDVariable;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;
import org.nd4j.linalg.indexing.NDArrayIndex;

/**
 * Converts ONNX nodes, in file order, into {@link NetworkBuilder} calls. Every ONNX tensor name maps
 * to a {@link Value}: a graph tensor with its static shape, or a host constant. Ops whose inputs are
 * all host constants (shape arithmetic) are evaluated by {@link ShapeArithmetic} and never reach the graph.
 */
final class OnnxConverter {

    private final int opset;
    private final NetworkBuilder b;
    private final long declaredBatch;
    private final Map<String, Integer> uses;
    private final Map<String, Value> values = new HashMap<>();
    /** MatMul output tensor -> the dense layer it became (its bias may absorb a following Add). */
    private final Map<String, String> matMulLayers = new HashMap<>();
    private final Set<String> names = new HashSet<>();
    private final QdqConversion qdqConversion = new QdqConversion(this);

    /**
     * @param declaredBatch the batch size the file declares for its input, or 0 when symbolic
     * @param uses          how many node inputs and graph outputs read each tensor name
     */
    OnnxConverter(int opset, NetworkBuilder b, long declaredBatch, Map<String, Integer> uses) {
        this.opset = opset;
        this.b = b;
        this.declaredBatch = declaredBatch;
        this.uses = uses;
        names.add(b.input().name());
    }

    void defineInput(String onnxName, long[] chw) {
        values.put(onnxName, new GraphTensor(b.input(), new long[] {-1, chw[0], chw[1], chw[2]}));
    }

    void defineConstant(String onnxName, INDArray value) {
        values.put(onnxName, new HostConstant(value));
    }

    /** An initializer with its ONNX element type (QDQ zero points' types fix their level ranges). */
    void defineConstant(String onnxName, INDArray value, int onnxType) {
        defineConstant(onnxName, value);
        qdqConversion.type(onnxName, onnxType);
    }

    /** Binds a tensor name to a value (used by {@link QdqConversion}). */
    void define(String onnxName, Value v) {
        values.put(onnxName, v);
    }

    NetworkBuilder builder() {
        return b;
    }

    /** The value of a tensor name, or null when nothing produced it. */
    Value lookup(String onnxName) {
        return values.get(onnxName);
    }

    void convert(OnnxNode n) {
        boolean qdq = n.opType().equals("QuantizeLinear") || n.opType().equals("DequantizeLinear");
        if (!n.domain().isEmpty() && !n.domain().equals("ai.onnx") && !(qdq && n.domain().equals("com.microsoft"))) {
            throw n.error("op " + n.domain() + "." + n.opType() + " is not supported by the ONNX reader");
        }
        switch (n.opType()) {
            case "Conv" -> conv(n);
            case "BatchNormalization" -> batchNorm(n);
            case "Relu" -> put(n, b.relu(layer(n), graph(n, 0).var()), graph(n, 0).shape());
            case "Sigmoid" -> put(n, b.sigmoid(layer(n), graph(n, 0).var()), graph(n, 0).shape());
            case "LeakyRelu" -> put(n, b.leakyRelu(layer(n), graph(n, 0).var(), finite(n, "alpha", n.real("alpha", 0.01f))),
                    graph(n, 0).shape());
            case "HardSigmoid" -> put(n, b.hardSigmoid(layer(n), graph(n, 0).var(), finite(n, "alpha", n.real("alpha", 0.2f)),
                    finite(n, "beta", n.real("beta", 0.5f))), graph(n, 0).shape());
            case "HardSwish" -> put(n, b.hardSwish(layer(n), graph(n, 0).var()), graph(n, 0).shape());
            case "Clip" -> clip(n);
            case "Add", "Sub", "Mul", "Div" -> arithmetic(n);
            case "Concat" -> concat(n);
            case "MaxPool", "AveragePool" -> pool(n);
            case "GlobalAveragePool" -> globalAveragePool(n);
            case "ReduceMean" -> reduceMean(n);
            case "Gemm" -> gemm(n);
            case "MatMul" -> matMul(n);
            case "Flatten" -> flatten(n);
            case "Reshape" -> reshape(n);
            case "Softmax" -> softmax(n);
            case "Pad" -> pad(n);
            case "Resize", "Upsample" -> resize(n);
            case "Identity", "Dropout" -> values.put(n.output(0), value(n, 0));
            case "Constant" -> {
                values.put(n.output(0), new HostConstant(constantValue(n)));
                if (n.attribute("value") != null) {
                    qdqConversion.type(n.output(0), n.attribute("value").getT().getDataType());
                }
            }
            case "QuantizeLinear" -> qdqConversion.quantize(n);
            case "DequantizeLinear" -> qdqConversion.dequantize(n);
            case "Min", "Max" -> minMax(n);
            case "Floor" -> put(n, b.sameDiff().math().floor(layer(n), graph(n, 0).var()), graph(n, 0).shape());
            case "Shape" -> shape(n);
            case "Gather" -> gather(n);
            case "Unsqueeze", "Squeeze" -> squeezeOrUnsqueeze(n);
            case "Cast" -> cast(n);
            case "Slice" -> slice(n);
            case "Transpose" -> transpose(n);
            case "Split" -> split(n);
            case "ConstantOfShape" -> values.put(n.output(0), new HostConstant(ShapeArithmetic.constantOfShape(n,
                    longs(n, 0), n.has("value") ? TensorDecoder.decode(n.attribute("value").getT(), n.where())
                            : Nd4j.scalar(0f))));
            default -> throw n.error("op " + n.opType() + " is not supported by the ONNX reader (dfq info --supported-ops "
                    + "lists those it converts)");
        }
    }

    // ---- weight layers ----

    private void conv(OnnxNode n) {
        GraphTensor x = image(n);
        INDArray w = floats(n, 1, 4);
        INDArray bias = n.hasInput(2) ? floats(n, 2, 1) : null;
        long channels = x.dim(1);
        long out = w.size(0);
        long group = n.integer("group", 1);
        if (group < 1 || channels % group != 0 || out % group != 0) {
            throw n.error("group " + group + " does not divide the " + channels + " input and " + out
                    + " output channels");
        }
        Window win = Window.of(n, x.dim(2), x.dim(3), w.size(2), w.size(3));
        String name = layer(n);
        SDVariable y;
        int dH = win.dH();
        int dW = win.dW();
        if (group == 1) {
            if (w.size(1) != channels) {
                throw n.error("weights take " + w.size(1) + " input channels, the input has " + channels);
            }
            // ONNX [out, in, kH, kW] -> [kH, kW, in, out]
            INDArray hwio = w.permute(2, 3, 1, 0).dup('c');
            y = b.conv2d(name, x.var(), hwio, bias, win.sH(), win.sW(), win.padding(), dH, dW);
        } else if (group == channels && w.size(1) == 1 && out % channels == 0) {
            long mult = out / channels;
            // ONNX [C*m, 1, kH, kW], output channel c*m + j reads input channel c -> [kH, kW, C, m]
            INDArray hwcm = w.reshape(channels, mult, w.size(2), w.size(3)).permute(2, 3, 0, 1).dup('c');
            y = b.depthwiseConv2d(name, x.var(), hwcm, bias, win.sH(), win.sW(), win.padding(), dH, dW);
        } else {
            if (w.size(1) != channels / group) {
                throw n.error("weights take " + w.size(1) + " input channels per group, the input has " + channels
                        + " in " + group + " groups");
            }
            y = b.conv2d(name, x.var(), blockDiagonal(w, group, channels), bias, win.sH(), win.sW(), win.padding(), dH, dW);
        }
        put(n, y, new long[] {-1, out, win.outH(), win.outW()});
    }

    /**
     * A grouped convolution's ONNX weights [out, in/group, kH, kW] as the equivalent dense kernel
     * [kH, kW, in, out] with zeros outside the groups' blocks: output channel o of group g = o / (out/group)
     * reads input channels g*in/group .. (g+1)*in/group - 1. The zeros stay zero under every rewrite
     * (scaling, quantization with an exactly representable zero, bias correction), so equalization
     * works within the groups; the price is group times the multiply-adds of the grouped form.
     */
    private static INDArray blockDiagonal(INDArray w, long group, long channels) {
        long out = w.size(0);
        long inPer = channels / group;
        long outPer = out / group;
        INDArray hwio = Nd4j.zeros(DataType.FLOAT, w.size(2), w.size(3), channels, out);
        INDArray perGroup = w.permute(2, 3, 1, 0); // [kH, kW, in/group, out]
        for (long g = 0; g < group; g++) {
            hwio.get(NDArrayIndex.all(), NDArrayIndex.all(), NDArrayIndex.interval(g * inPer, (g + 1) * inPer),
                    NDArrayIndex.interval(g * outPer, (g + 1) * outPer))
                    .assign(perGroup.get(NDArrayIndex.all(), NDArrayIndex.all(), NDArrayIndex.all(),
                            NDArrayIndex.interval(g * outPer, (g + 1) * outPer)));
        }
        return hwio;
    }

    private void gemm(OnnxNode n) {
        GraphTensor a = matrix(n);
        if (n.integer("transA", 0) != 0) {
            throw n.error("transA=1 is not supported");
        }
        float alpha = n.real("alpha", 1f);
        float beta = n.real("beta", 1f);
        if (alpha != 1f || beta != 1f && n.hasInput(2)) {
            throw n.error("alpha=" + alpha + ", beta=" + beta + " is not supported (only 1 and 1)");
        }
        INDArray bMat = floats(n, 1, 2);
        // transB=1: B is [out, in] -> [in, out]
        INDArray w = n.integer("transB", 0) != 0 ? bMat.transpose().dup('c') : bMat;
        requireFeatures(n, a, w);
        INDArray bias = null;
        if (n.hasInput(2)) {
            INDArray c = floats(n, 2, -1);
            if (c.length() == 1) {
                bias = Nd4j.valueArrayOf(new long[] {w.size(1)}, c.getFloat(0));
            } else if (c.length() == w.size(1) && c.size(-1) == w.size(1)) {
                bias = c.reshape(w.size(1));
            } else {
                throw n.error("bias C of shape " + Arrays.toString(c.shape()) + " does not broadcast to [N,"
                        + w.size(1) + "] per row");
            }
        }
        put(n, b.dense(layer(n), a.var(), w, bias), new long[] {-1, w.size(1)});
    }

    private void matMul(OnnxNode n) {
        GraphTensor a = matrix(n);
        INDArray w = floats(n, 1, 2);
        requireFeatures(n, a, w);
        String name = layer(n);
        put(n, b.dense(name, a.var(), w, null), new long[] {-1, w.size(1)});
        matMulLayers.put(n.output(0), name);
    }

    private void batchNorm(OnnxNode n) {
        GraphTensor x = graph(n, 0);
        for (int i = 1; i < n.outputCount(); i++) {
            if (uses.getOrDefault(n.output(i), 0) > 0) {
                throw n.error("training-mode BatchNormalization (its running statistics are used); export in eval mode");
            }
        }
        long c = x.dim(1);
        INDArray gamma = vector(n, 1, c);
        INDArray beta = vector(n, 2, c);
        INDArray mean = vector(n, 3, c);
        INDArray var = vector(n, 4, c);
        float eps = n.real("epsilon", 1e-5f);
        String bad = ModelChecks.batchNormProblem("running variance '" + n.input(4) + "'", var, eps);
        if (bad != null) {
            throw n.error(bad);
        }
        put(n, b.batchNorm(layer(n), x.var(), mean, var, gamma, beta, eps), x.shape());
    }

    // ---- activations and arithmetic ----

    private void clip(OnnxNode n) {
        GraphTensor x = graph(n, 0);
        double lo = Double.NEGATIVE_INFINITY;
        double hi = Double.POSITIVE_INFINITY;
        if (opset < 11) {
            lo = n.has("min") ? n.real("min", 0f) : lo;
            hi = n.has("max") ? n.real("max", 0f) : hi;
        } else {
            lo = n.hasInput(1) ? scalar(n, 1) : lo;
            hi = n.hasInput(2) ? scalar(n, 2) : hi;
        }
        if (Double.isNaN(lo) || Double.isNaN(hi) || lo > hi) {
            throw n.error("bounds [" + lo + ", " + hi + "] are not an interval");
        }
        // the opset<11 defaults are the float limits; treat them as no bound
        lo = lo <= -Float.MAX_VALUE ? Double.NEGATIVE_INFINITY : lo;
        hi = hi >= Float.MAX_VALUE ? Double.POSITIVE_INFINITY : hi;
        String name = layer(n);
        SDVariable y;
        if (lo == 0 && hi == 6) {
            y = b.relu6(name, x.var());
        } else if (lo == 0 && hi == Double.POSITIVE_INFINITY) {
            y = b.relu(name, x.var());
        } else {
            y = b.clip(name, x.var(), Math.max(lo, -Float.MAX_VALUE), Math.min(hi, Float.MAX_VALUE));
        }
        put(n, y, x.shape());
    }

    /** Elementwise Min or Max of a graph tensor and a constant (e.g. a per-channel clip) or of two graph tensors. */
    private void minMax(OnnxNode n) {
        if (n.inputCount() != 2) {
            throw n.error(n.opType() + " of " + n.inputCount() + " inputs is supported with two inputs only");
        }
        Value left = value(n, 0);
        Value right = value(n, 1);
        if (left instanceof HostConstant && right instanceof HostConstant) {
            throw n.error(n.opType() + " of two constants is not supported");
        }
        GraphTensor x = left instanceof GraphTensor g ? g : (GraphTensor) right;
        Value other = left instanceof GraphTensor ? right : left;
        String name = layer(n);
        boolean min = n.opType().equals("Min");
        SDVariable c;
        long[] shape;
        if (other instanceof GraphTensor g) {
            shape = broadcast(n, x.shape(), g.shape());
            c = g.var();
        } else {
            INDArray k = ((HostConstant) other).array().castTo(DataType.FLOAT);
            shape = broadcast(n, x.shape(), k.shape());
            c = b.constant(name + "/c", withRank(n, k, x.rank()));
        }
        put(n, min ? b.minimum(name, x.var(), c) : b.maximum(name, x.var(), c), shape);
    }

    private void arithmetic(OnnxNode n) {
        Value left = value(n, 0);
        Value right = value(n, 1);
        String op = n.opType();
        if (left instanceof HostConstant l && right instanceof HostConstant r) {
            values.put(n.output(0), new HostConstant(ShapeArithmetic.elementwise(n, l.array(), r.array())));
            return;
        }
        boolean commutes = op.equals("Add") || op.equals("Mul");
        if (!commutes && !(left instanceof GraphTensor && right instanceof HostConstant)) {
            throw n.error(op + " is supported between a graph tensor and a constant (x " + op + " c) only");
        }
        GraphTensor x = left instanceof GraphTensor g ? g : (GraphTensor) right;
        Value other = left instanceof GraphTensor ? right : left;
        if (op.equals("Add") && other instanceof HostConstant c && absorbIntoDenseBias(n, n.input(left == x ? 0 : 1), x, c)) {
            return;
        }
        String name = layer(n);
        SDVariable y;
        long[] shape;
        if (other instanceof GraphTensor g) {
            shape = broadcast(n, x.shape(), g.shape());
            y = op.equals("Add") ? b.add(name, x.var(), g.var()) : b.mul(name, x.var(), g.var());
        } else {
            INDArray c = ((HostConstant) other).array();
            if (ShapeArithmetic.isInteger(c)) {
                ShapeArithmetic.requireNoBatch(n, c);
            }
            c = c.castTo(DataType.FLOAT);
            // x - c = x + (-c) (exact); x / c stays a division (x * (1/c) rounds differently)
            if (op.equals("Sub")) {
                c = c.neg();
            } else if (op.equals("Div") && c.eq(0).any()) {
                throw n.error("divides by zero: constant '" + n.input(1) + "' holds 0");
            }
            shape = broadcast(n, x.shape(), c.shape());
            SDVariable k = b.constant(name + "/c", withRank(n, c, x.rank()));
            y = op.equals("Add") || op.equals("Sub") ? b.add(name, x.var(), k)
                    : op.equals("Div") ? x.var().div(name, k) : b.mul(name, x.var(), k);
        }
        put(n, y, shape);
    }

    /** MatMul followed by Add of a bias vector: the bias goes into the dense layer's bias constant. */
    private boolean absorbIntoDenseBias(OnnxNode n, String input, GraphTensor x, HostConstant c) {
        String denseLayer = matMulLayers.get(input);
        long out = x.dim(1);
        INDArray bias = c.array();
        if (denseLayer == null || uses.getOrDefault(input, 0) != 1 || ShapeArithmetic.isInteger(bias)
                || bias.length() != out || bias.rank() > 2 || bias.size(-1) != out) {
            return false;
        }
        b.sameDiff().getVariable(denseLayer + "/b").setArray(bias.castTo(DataType.FLOAT).reshape(out).dup());
        matMulLayers.remove(input);
        values.put(n.output(0), x);
        return true;
    }

    private void concat(OnnxNode n) {
        List<Value> parts = new ArrayList<>();
        for (int i = 0; i < n.inputCount(); i++) {
            parts.add(value(n, i));
        }
        long axis = n.integer("axis", Long.MIN_VALUE);
        if (axis == Long.MIN_VALUE) {
            throw n.error("axis attribute is missing");
        }
        if (parts.stream().allMatch(p -> p instanceof HostConstant)) {
            List<INDArray> arrays = parts.stream().map(p -> ((HostConstant) p).array()).toList();
            values.put(n.output(0), new HostConstant(ShapeArithmetic.concat(n, arrays, axis)));
            return;
        }
        if (!parts.stream().allMatch(p -> p instanceof GraphTensor)) {
            throw n.error("Concat of graph tensors with constants is not supported");
        }
        List<GraphTensor> xs = parts.stream().map(p -> (GraphTensor) p).toList();
        long[] shape = xs.get(0).shape();
        int ax = (int) ShapeArithmetic.normalizeAxis(n, axis, shape.length);
        if (ax == 0) {
            throw n.error("Concat along the batch axis is not supported");
        }
        long sum = 0;
        for (GraphTensor x : xs) {
            long[] s = x.shape();
            s[ax] = shape[ax];
            if (!Arrays.equals(s, shape)) {
                throw n.error("Concat inputs of shapes " + xs + " disagree off axis " + ax);
            }
            sum += x.dim(ax);
        }
        shape[ax] = sum;
        put(n, b.concat(layer(n), ax, xs.stream().map(GraphTensor::var).toArray(SDVariable[]::new)), shape);
    }

    // ---- pooling ----

    private void pool(OnnxNode n) {
        GraphTensor x = image(n);
        Window win = Window.of(n, x.dim(2), x.dim(3), 0, 0);
        if (win.dH() != 1 || win.dW() != 1) {
            throw n.error("dilated pooling is not supported");
        }
        boolean avg = n.opType().equals("AveragePool");
        if (avg && n.integer("count_include_pad", 0) != 0 && win.padsAnything()) {
            throw n.error("count_include_pad=1 with padding is not supported (padded cells are excluded from "
                    + "the average here); re-export with count_include_pad=0");
        }
        String name = layer(n);
        if (win.ceilExtended()) {
            if (avg) {
                throw n.error("AveragePool with ceil_mode=1 that changes the output size here is not supported; "
                        + "re-export with ceil_mode=0");
            }
            // the windows that ceil_mode adds reach past the input: pad with the lowest float, which never wins
            Padding p = win.padding();
            SDVariable padded = b.constantPad(name + "/ceil", x.var(), p.top(), p.bottom(), p.left(), p.right(),
                    -Float.MAX_VALUE);
            put(n, b.maxPool(name, padded, win.kH(), win.kW(), win.sH(), win.sW(), Padding.VALID),
                    new long[] {-1, x.dim(1), win.outH(), win.outW()});
            return;
        }
        Padding pad = win.padding();
        if (pad.mode() == Padding.Mode.EXPLICIT && !pad.symmetric()) {
            if (!win.sameEquivalent()) {
                throw n.error("asymmetric pooling pads " + pad + " are not supported");
            }
            pad = Padding.SAME;
        }
        SDVariable y = avg ? b.avgPool(name, x.var(), win.kH(), win.kW(), win.sH(), win.sW(), pad)
                : b.maxPool(name, x.var(), win.kH(), win.kW(), win.sH(), win.sW(), pad);
        put(n, y, new long[] {-1, x.dim(1), win.outH(), win.outW()});
    }

    private void globalAveragePool(OnnxNode n) {
        GraphTensor x = graph(n, 0);
        if (x.rank() < 3) {
            throw n.error("GlobalAveragePool needs an [N, C, spatial...] input, got shape " + show(x.shape()));
        }
        int[] spatial = java.util.stream.IntStream.range(2, x.rank()).toArray();
        long[] shape = x.shape();
        Arrays.fill(shape, 2, shape.length, 1);
        put(n, x.rank() == 4 ? b.globalAvgPool(layer(n), x.var(), true) : b.mean(layer(n), x.var(), true, spatial), shape);
    }

    /** Mean over any axes but the batch; over (2, 3) of an NCHW tensor it is global average pooling. */
    private void reduceMean(OnnxNode n) {
        GraphTensor x = graph(n, 0);
        long[] axes = opset < 18 ? n.integers("axes", null) : (n.hasInput(1) ? longs(n, 1) : null);
        if (axes == null || axes.length == 0) {
            throw n.error("ReduceMean over every axis (the batch included) is not supported; give axes");
        }
        java.util.TreeSet<Integer> ax = new java.util.TreeSet<>();
        for (long a : axes) {
            ax.add((int) ShapeArithmetic.normalizeAxis(n, a, x.rank()));
        }
        if (ax.contains(0)) {
            throw n.error("ReduceMean over the batch axis is not supported, got axes " + Arrays.toString(axes));
        }
        boolean keep = n.integer("keepdims", 1) != 0;
        List<Long> shape = new ArrayList<>();
        for (int i = 0; i < x.rank(); i++) {
            if (!ax.contains(i)) {
                shape.add(x.dim(i));
            } else if (keep) {
                shape.add(1L);
            }
        }
        long[] out = shape.stream().mapToLong(Long::longValue).toArray();
        SDVariable y = x.rank() == 4 && ax.equals(Set.of(2, 3)) ? b.globalAvgPool(layer(n), x.var(), keep)
                : b.mean(layer(n), x.var(), keep, ax.stream().mapToInt(Integer::intValue).toArray());
        put(n, y, out);
    }

    // ---- shape-changing ops ----

    private void flatten(OnnxNode n) {
        Value v = value(n, 0);
        long axis = n.integer("axis", 1);
        if (v instanceof HostConstant h) {
            long[] s = h.array().shape();
            int ax = (int) (axis < 0 ? axis + s.length : axis);
            long lead = Arrays.stream(s, 0, ax).reduce(1, (p, q) -> p * q);
            long rest = Arrays.stream(s, ax, s.length).reduce(1, (p, q) -> p * q);
            values.put(n.output(0), new HostConstant(h.array().reshape(lead, rest)));
            return;
        }
        GraphTensor x = (GraphTensor) v;
        long ax = axis < 0 ? axis + x.rank() : axis;
        if (ax != 1) {
            throw n.error("Flatten with axis " + axis + " mixes the batch axis; only axis=1 is supported");
        }
        long features = Arrays.stream(x.shape(), 1, x.rank()).reduce(1, (p, q) -> p * q);
        put(n, b.flatten(layer(n), x.var(), features), new long[] {-1, features});
    }

    private void reshape(OnnxNode n) {
        Value v = value(n, 0);
        long[] target = ShapeArithmetic.values(host(n, 1));
        if (v instanceof HostConstant h) {
            ShapeArithmetic.requireNoBatch(n, host(n, 1));
            long[] shape = ShapeArithmetic.resolveReshape(n, h.array().shape(), target);
            values.put(n.output(0), new HostConstant(ShapeArithmetic.reshapeExact(h.array().dup('c'), shape)));
            return;
        }
        GraphTensor x = (GraphTensor) v;
        long[] rest = perSampleTarget(n, x, target);
        long[] shape = new long[rest.length + 1];
        shape[0] = -1;
        System.arraycopy(rest, 0, shape, 1, rest.length);
        put(n, b.reshape(layer(n), x.var(), shape), shape);
    }

    /**
     * The per-sample part of a Reshape target for a graph tensor. Axis 0 of the target must be the
     * batch: the folded {@code Shape[0]}, a 0 (copy), the batch size the file declares, or a -1 when
     * the other dims account for one whole sample.
     */
    private long[] perSampleTarget(OnnxNode n, GraphTensor x, long[] target) {
        long[] t = target.clone();
        long[] in = x.shape();
        for (int i = 0; i < t.length; i++) {
            if (t[i] == 0) {
                if (i >= in.length) {
                    throw n.error("Reshape target " + show(target) + " copies dim " + i + " of a rank-" + in.length + " input");
                }
                t[i] = i == 0 ? ShapeArithmetic.BATCH : in[i];
            }
            if (i > 0 && t[i] == ShapeArithmetic.BATCH) {
                throw n.error("Reshape target " + show(target) + " moves the batch dimension; not supported");
            }
        }
        long[] sample = Arrays.copyOfRange(in, 1, in.length);
        long[] rest = Arrays.copyOfRange(t, 1, t.length);
        boolean batchFirst = t.length > 0 && (t[0] == ShapeArithmetic.BATCH
                || t[0] == -1 && Arrays.stream(rest).allMatch(d -> d > 0)
                || declaredBatch > 0 && t[0] == declaredBatch);
        if (!batchFirst) {
            throw n.error("Reshape of " + show(in) + " to " + show(target) + " changes the batch dimension; not supported");
        }
        return ShapeArithmetic.resolveReshape(n, sample, rest);
    }

    private void squeezeOrUnsqueeze(OnnxNode n) {
        boolean squeeze = n.opType().equals("Squeeze");
        long[] axes = opset < 13 ? n.integers("axes", null) : (n.hasInput(1) ? longs(n, 1) : null);
        if (axes == null && !squeeze) {
            throw n.error("axes are missing");
        }
        Value v = value(n, 0);
        if (v instanceof HostConstant h) {
            INDArray a = h.array();
            INDArray r = squeeze ? ShapeArithmetic.reshapeExact(a, ShapeArithmetic.squeezedShape(n, a.shape(), axes))
                    : ShapeArithmetic.unsqueeze(n, a, axes);
            values.put(n.output(0), new HostConstant(r));
            return;
        }
        GraphTensor x = (GraphTensor) v;
        long[] shape = squeeze ? ShapeArithmetic.squeezedShape(n, x.shape(), axes)
                : ShapeArithmetic.unsqueezedShape(n, x.shape(), axes);
        if (shape.length == 0 || shape[0] != -1 || Arrays.stream(shape, 1, shape.length).anyMatch(d -> d < 0)) {
            throw n.error(n.opType() + " of axis 0 (the batch) is not supported");
        }
        put(n, b.reshape(layer(n), x.var(), shape), shape);
    }

    private void softmax(OnnxNode n) {
        GraphTensor x = graph(n, 0);
        int ax = (int) ShapeArithmetic.normalizeAxis(n, n.integer("axis", opset < 13 ? 1 : -1), x.rank());
        // before opset 13 Softmax flattens everything from the axis on; that equals a channel
        // softmax only when nothing follows the channel axis
        boolean trailingOnes = Arrays.stream(x.shape(), 2, x.rank()).allMatch(d -> d == 1);
        if (ax != 1 || opset < 13 && !trailingOnes) {
            throw n.error("Softmax over axis " + n.integer("axis", opset < 13 ? 1 : -1) + " of shape " + show(x.shape())
                    + " is not supported (only the channel axis)");
        }
        put(n, b.softmax(layer(n), x.var()), x.shape());
    }

    private void pad(OnnxNode n) {
        GraphTensor x = image(n);
        String mode = n.string("mode", "constant");
        long[] pads = opset < 11 ? n.integers("pads", n.integers("paddings", null)) : longs(n, 1);
        double fill = opset < 11 ? n.real("value", 0f) : (n.hasInput(2) ? scalar(n, 2) : 0);
        if (n.hasInput(3)) {
            throw n.error("Pad with an axes input is not supported");
        }
        if (pads == null || pads.length != 8) {
            throw n.error("pads must have 8 values for a rank-4 input, got " + (pads == null ? "none" : show(pads)));
        }
        if (!mode.equals("constant") || fill != 0) {
            throw n.error("only zero padding is supported, got mode=" + mode + " value=" + fill);
        }
        if (pads[0] != 0 || pads[1] != 0 || pads[4] != 0 || pads[5] != 0
                || Arrays.stream(pads).anyMatch(p -> p < 0 || p > ModelChecks.MAX_SIDE)) {
            throw n.error("only non-negative padding of the spatial axes is supported, got " + show(pads));
        }
        String big = ModelChecks.tensorProblem(x.dim(1), x.dim(2) + pads[2] + pads[6], x.dim(3) + pads[3] + pads[7]);
        if (big != null) {
            throw n.error("the padded tensor's " + big);
        }
        SDVariable y = b.zeroPad(layer(n), x.var(), (int) pads[2], (int) pads[6], (int) pads[3], (int) pads[7]);
        put(n, y, new long[] {-1, x.dim(1), x.dim(2) + pads[2] + pads[6], x.dim(3) + pads[3] + pads[7]});
    }

    private void resize(OnnxNode n) {
        GraphTensor x = image(n);
        boolean upsample = n.opType().equals("Upsample");
        String coord = upsample || opset < 11 ? "asymmetric" : n.string("coordinate_transformation_mode", "half_pixel");
        INDArray scales;
        long[] sizes = null;
        if (upsample && opset < 9) {
            float[] s = n.reals("scales");
            scales = s == null ? null : Nd4j.createFromArray(s);
        } else if (upsample || opset < 11) {
            scales = host(n, 1);
        } else {
            scales = n.hasInput(2) ? host(n, 2) : null;
            // sizes usually come from Shape(x)[0:2] ++ [h, w], so axis 0 may be the batch
            sizes = n.hasInput(3) ? ShapeArithmetic.values(host(n, 3)) : null;
        }
        long outH;
        long outW;
        if (sizes != null && sizes.length > 0) {
            if (sizes.length != 4 || sizes[1] != x.dim(1) || sizes[2] <= 0 || sizes[3] <= 0) {
                throw n.error("sizes " + show(sizes) + " must be [N, C, H, W] with C unchanged");
            }
            outH = sizes[2];
            outW = sizes[3];
        } else if (scales != null && scales.length() == 4) {
            if (scales.getDouble(0) != 1 || scales.getDouble(1) != 1) {
                throw n.error("only spatial scaling is supported, got scales " + scales);
            }
            outH = (long) Math.floor(x.dim(2) * scales.getDouble(2));
            outW = (long) Math.floor(x.dim(3) * scales.getDouble(3));
        } else {
            throw n.error("neither 4 scales nor 4 sizes are given");
        }
        if (outH < 1 || outW < 1 || outH > ModelChecks.MAX_SIDE || outW > ModelChecks.MAX_SIDE) {
            throw n.error("output size " + outH + "x" + outW + " must have sides from 1 to " + ModelChecks.MAX_SIDE);
        }
        String big = ModelChecks.tensorProblem(x.dim(1), outH, outW);
        if (big != null) {
            throw n.error("the resized tensor's " + big);
        }
        String mode = n.string("mode", "nearest");
        String name = layer(n);
        SDVariable y;
        if (mode.equals("linear") || mode.equals("bilinear")) {
            boolean align = coord.equals("align_corners");
            boolean half = coord.equals("half_pixel") || coord.equals("pytorch_half_pixel") && outH > 1 && outW > 1;
            if (!align && !half && !coord.equals("asymmetric")) {
                throw n.error("bilinear resize with coordinate_transformation_mode=" + coord + " is not supported");
            }
            y = b.resizeBilinear(name, x.var(), x.dim(1), (int) x.dim(2), (int) x.dim(3), (int) outH, (int) outW, align, half);
        } else if (mode.equals("nearest")) {
            y = nearest(n, x, name, coord, outH, outW);
        } else {
            throw n.error("resize mode '" + mode + "' is not supported (linear and nearest are)");
        }
        put(n, y, new long[] {-1, x.dim(1), outH, outW});
    }

    /**
     * Nearest upsampling by whole factors: every ONNX coordinate rule that PyTorch and TF emit
     * (asymmetric + floor; half-pixel + round) then repeats each pixel factor times.
     */
    private SDVariable nearest(OnnxNode n, GraphTensor x, String name, String coord, long outH, long outW) {
        String rounding = upsampleOrOld(n) ? "floor" : n.string("nearest_mode", "round_prefer_floor");
        boolean repeats = coord.equals("asymmetric") && rounding.equals("floor")
                || (coord.equals("half_pixel") || coord.equals("pytorch_half_pixel")) && rounding.startsWith("round_prefer");
        if (!repeats || outH % x.dim(2) != 0 || outW % x.dim(3) != 0) {
            throw n.error("nearest resize is supported for whole upsampling factors only (got " + show(x.shape())
                    + " to " + outH + "x" + outW + ", " + coord + ", " + rounding + ")");
        }
        return b.resizeNearest(name, x.var(), (int) outH, (int) outW);
    }

    private boolean upsampleOrOld(OnnxNode n) {
        return n.opType().equals("Upsample") || opset < 11;
    }

    // ---- host-only ops (shape arithmetic) ----

    private INDArray constantValue(OnnxNode n) {
        String where = n.where();
        AttributeProto a;
        if ((a = n.attribute("value")) != null) {
            return TensorDecoder.decode(a.getT(), where);
        } else if ((a = n.attribute("value_float")) != null) {
            return Nd4j.scalar(a.getF());
        } else if ((a = n.attribute("value_floats")) != null) {
            return Nd4j.createFromArray(n.reals("value_floats"));
        } else if ((a = n.attribute("value_int")) != null) {
            return Nd4j.scalar(a.getI());
        } else if (n.has("value_ints")) {
            long[] v = n.integers("value_ints", null);
            return TensorDecoder.longs(v, new long[] {v.length});
        }
        throw n.error("Constant without a supported value attribute");
    }

    private void shape(OnnxNode n) {
        Value v = value(n, 0);
        boolean graph = v instanceof GraphTensor;
        long[] s = graph ? ((GraphTensor) v).shape() : ((HostConstant) v).array().shape();
        INDArray r = ShapeArithmetic.shapeOf(s, graph, n.integer("start", 0), n.integer("end", s.length));
        values.put(n.output(0), new HostConstant(r));
    }

    private void gather(OnnxNode n) {
        if (value(n, 0) instanceof GraphTensor x) {
            gatherGraph(n, x);
            return;
        }
        INDArray data = host(n, 0);
        values.put(n.output(0), new HostConstant(ShapeArithmetic.gather(n, data, host(n, 1), n.integer("axis", 0))));
    }

    /** Gather of constant indices along an axis other than the batch (e.g. x[:, 0] of an image). */
    private void gatherGraph(OnnxNode n, GraphTensor x) {
        INDArray indices = host(n, 1);
        int ax = (int) ShapeArithmetic.normalizeAxis(n, n.integer("axis", 0), x.rank());
        if (ax == 0 || indices.rank() > 1 || !ShapeArithmetic.isInteger(indices)) {
            throw n.error("Gather of a graph tensor is supported with integer indices (a scalar or a list) along an "
                    + "axis other than the batch");
        }
        long size = x.dim(ax);
        long[] idx = ShapeArithmetic.values(indices);
        int[] picks = new int[idx.length];
        for (int i = 0; i < idx.length; i++) {
            long k = idx[i] < 0 ? idx[i] + size : idx[i];
            if (k < 0 || k >= size) {
                throw n.error("Gather index " + idx[i] + " is out of range for " + size + " values");
            }
            picks[i] = (int) k;
        }
        String name = layer(n);
        long[] shape = x.shape();
        shape[ax] = picks.length;
        SDVariable y = b.gather(indices.rank() == 0 ? name + "/picked" : name, x.var(), ax, picks);
        if (indices.rank() == 0) {
            long[] squeezed = new long[shape.length - 1];
            for (int i = 0, j = 0; i < shape.length; i++) {
                if (i != ax) {
                    squeezed[j++] = shape[i];
                }
            }
            y = b.reshape(name, y, squeezed);
            shape = squeezed;
        }
        put(n, y, shape);
    }

    private void transpose(OnnxNode n) {
        long[] perm = n.integers("perm", null);
        if (value(n, 0) instanceof HostConstant h) {
            values.put(n.output(0), new HostConstant(ShapeArithmetic.transpose(n, h.array(), perm)));
            return;
        }
        GraphTensor x = graph(n, 0);
        if (perm == null || perm.length != x.rank()) {
            throw n.error("Transpose of a graph tensor needs a perm of " + x.rank() + " axes, got "
                    + (perm == null ? "none" : show(perm)));
        }
        int[] p = new int[perm.length];
        long[] shape = new long[perm.length];
        Set<Integer> seen = new HashSet<>();
        for (int i = 0; i < p.length; i++) {
            p[i] = (int) ShapeArithmetic.normalizeAxis(n, perm[i], x.rank());
            if (!seen.add(p[i])) {
                throw n.error("Transpose perm " + show(perm) + " repeats axis " + p[i]);
            }
            shape[i] = x.dim(p[i]);
        }
        if (p[0] != 0) {
            throw n.error("Transpose " + show(perm) + " moves the batch axis; not supported");
        }
        put(n, b.permute(layer(n), x.var(), p), shape);
    }

    /** Split into parts along an axis other than the batch: sizes from the attribute (opset < 13) or input 1, or equal parts. */
    private void split(OnnxNode n) {
        GraphTensor x = graph(n, 0);
        int ax = (int) ShapeArithmetic.normalizeAxis(n, n.integer("axis", 0), x.rank());
        if (ax == 0) {
            throw n.error("Split along the batch axis is not supported");
        }
        long[] sizes = opset < 13 ? n.integers("split", null) : (n.hasInput(1) ? longs(n, 1) : null);
        int parts = n.outputCount();
        long total = x.dim(ax);
        if (sizes == null) {
            long each = -Math.floorDiv(-total, parts);
            sizes = new long[parts];
            for (int i = 0; i < parts; i++) {
                sizes[i] = Math.max(0, Math.min(each, total - i * each));
            }
        }
        if (sizes.length != parts || Arrays.stream(sizes).sum() != total || Arrays.stream(sizes).anyMatch(v -> v <= 0)) {
            throw n.error("split sizes " + show(sizes) + " do not cut the " + total + " values of axis " + ax + " into "
                    + parts + " non-empty parts");
        }
        String name = layer(n);
        long start = 0;
        for (int i = 0; i < parts; i++) {
            long[] begin = new long[x.rank()];
            long[] end = x.shape();
            long[] step = new long[x.rank()];
            Arrays.fill(step, 1);
            begin[ax] = start;
            end[ax] = start + sizes[i];
            long[] shape = x.shape();
            shape[ax] = sizes[i];
            values.put(n.output(i), new GraphTensor(b.slice(name + "_" + i, x.var(), begin, end, step), shape));
            start += sizes[i];
        }
    }

    private void cast(OnnxNode n) {
        Value v = value(n, 0);
        long to = n.integer("to", 0);
        if (v instanceof GraphTensor) {
            if (to != onnx.Onnx.TensorProto.DataType.FLOAT_VALUE) {
                throw n.error("Cast of a graph tensor to type " + to + " is not supported");
            }
            values.put(n.output(0), v);
            return;
        }
        values.put(n.output(0), new HostConstant(ShapeArithmetic.cast(n, ((HostConstant) v).array(), to)));
    }

    private void slice(OnnxNode n) {
        Value v = value(n, 0);
        long[] starts;
        long[] ends;
        long[] axes;
        long[] steps = null;
        if (opset < 10) {
            starts = n.integers("starts", null);
            ends = n.integers("ends", null);
            axes = n.integers("axes", null);
        } else {
            starts = longs(n, 1);
            ends = longs(n, 2);
            axes = n.hasInput(3) ? longs(n, 3) : null;
            steps = n.hasInput(4) ? longs(n, 4) : null;
        }
        if (starts == null || ends == null) {
            throw n.error("starts or ends are missing");
        }
        if (v instanceof HostConstant h) {
            values.put(n.output(0), new HostConstant(ShapeArithmetic.slice(n, h.array(), starts, ends, axes, steps)));
        } else {
            sliceGraph(n, (GraphTensor) v, starts, ends, axes, steps);
        }
    }

    /** Slice of a graph tensor with positive steps, the batch axis whole (e.g. torch.chunk of channels). */
    private void sliceGraph(OnnxNode n, GraphTensor x, long[] starts, long[] ends, long[] axes, long[] steps) {
        if (axes != null && axes.length != starts.length || ends.length != starts.length
                || steps != null && steps.length != starts.length) {
            throw n.error("Slice with mismatched starts/ends/axes/steps");
        }
        long[] begin = new long[x.rank()];
        long[] end = x.shape();
        long[] step = new long[x.rank()];
        Arrays.fill(step, 1);
        long[] shape = x.shape();
        for (int k = 0; k < starts.length; k++) {
            int ax = (int) ShapeArithmetic.normalizeAxis(n, axes == null ? k : axes[k], x.rank());
            long st = steps == null ? 1 : steps[k];
            if (ax == 0) {
                throw n.error("Slice of the batch axis of a graph tensor is not supported");
            }
            if (st <= 0) {
                throw n.error("Slice of a graph tensor with step " + st + " is not supported (only positive steps)");
            }
            long d = x.dim(ax);
            begin[ax] = ShapeArithmetic.clampSliceBound(starts[k], d, st);
            end[ax] = ShapeArithmetic.clampSliceBound(ends[k], d, st);
            step[ax] = st;
            shape[ax] = Math.max(0, -Math.floorDiv(-(end[ax] - begin[ax]), st));
            if (shape[ax] == 0) {
                throw n.error("Slice leaves axis " + ax + " empty");
            }
        }
        put(n, b.slice(layer(n), x.var(), begin, end, step), shape);
    }

    // ---- inputs, outputs, names ----

    Value value(OnnxNode n, int i) {
        String name = n.input(i);
        Value v = values.get(name);
        if (v instanceof Value.Quantized && !n.opType().equals("DequantizeLinear")) {
            throw n.error("reads '" + name + "', the integer output of a QuantizeLinear; only DequantizeLinear may "
                    + "read it (dfq4j reads QuantizeLinear/DequantizeLinear pairs as fake-quant)");
        }
        if (v == null) {
            throw n.error(name.isEmpty() ? "required input " + i + " is missing"
                    : "input '" + name + "' is not produced by any earlier node (file damaged or not topologically sorted)");
        }
        return v;
    }

    private GraphTensor graph(OnnxNode n, int i) {
        if (value(n, i) instanceof GraphTensor g) {
            return g;
        }
        throw n.error("input '" + n.input(i) + "' is a constant; this op is supported on graph tensors only");
    }

    /** Input 0 as an NCHW image tensor. */
    private GraphTensor image(OnnxNode n) {
        GraphTensor x = graph(n, 0);
        if (x.rank() != 4) {
            throw n.error("expects an NCHW (rank-4) input, got shape " + show(x.shape()));
        }
        return x;
    }

    /** Input 0 as an [N, features] matrix. */
    private GraphTensor matrix(OnnxNode n) {
        GraphTensor x = graph(n, 0);
        if (x.rank() != 2) {
            throw n.error("expects an [N, features] input, got shape " + show(x.shape()) + " (rank " + x.rank() + ")");
        }
        return x;
    }

    INDArray host(OnnxNode n, int i) {
        if (value(n, i) instanceof HostConstant h) {
            return h.array();
        }
        throw n.error("input '" + n.input(i) + "' must be a constant (initializer or folded shape arithmetic)");
    }

    /** A real-valued constant input of the given rank (-1: any). */
    private INDArray floats(OnnxNode n, int i, int rank) {
        INDArray a = host(n, i);
        if (ShapeArithmetic.isInteger(a) || rank >= 0 && a.rank() != rank) {
            throw n.error("input '" + n.input(i) + "' must be a float tensor of rank " + rank + ", got "
                    + a.dataType() + " " + show(a.shape()));
        }
        return a.castTo(DataType.FLOAT);
    }

    private INDArray vector(OnnxNode n, int i, long length) {
        INDArray a = floats(n, i, -1);
        if (a.length() != length) {
            throw n.error("input '" + n.input(i) + "' has " + a.length() + " values, expected " + length);
        }
        return a.reshape(length);
    }

    private static float finite(OnnxNode n, String attribute, float v) {
        if (!Float.isFinite(v)) {
            throw n.error(attribute + " " + v + " must be finite");
        }
        return v;
    }

    private long[] longs(OnnxNode n, int i) {
        INDArray a = host(n, i);
        ShapeArithmetic.requireNoBatch(n, a);
        return ShapeArithmetic.values(a);
    }

    private double scalar(OnnxNode n, int i) {
        INDArray a = host(n, i);
        if (a.length() != 1) {
            throw n.error("input '" + n.input(i) + "' must be a single value, got shape " + show(a.shape()));
        }
        return a.getDouble(0);
    }

    private void requireFeatures(OnnxNode n, GraphTensor a, INDArray w) {
        if (w.size(0) != a.dim(1)) {
            throw n.error("weights take " + w.size(0) + " features, the input has " + a.dim(1));
        }
    }

    private void put(OnnxNode n, SDVariable y, long[] shape) {
        values.put(n.output(0), new GraphTensor(y, shape));
    }

    /** A fresh SameDiff name for the node's layer, derived from the ONNX node name. */
    String layer(OnnxNode n) {
        String base = n.name().replace(':', '_');
        while (base.startsWith("/")) {
            base = base.substring(1);
        }
        if (base.isEmpty()) {
            base = n.opType();
        }
        String name = base;
        for (int k = 2; names.contains(name) || b.sameDiff().hasVariable(name); k++) {
            name = base + "_" + k;
        }
        names.add(name);
        return name;
    }

    /** NumPy broadcasting of two shapes where -1 (the batch) on one side meets 1 or -1 on the other. */
    private static long[] broadcast(OnnxNode n, long[] graphShape, long[] other) {
        if (other.length > graphShape.length) {
            throw n.error("operand of shape " + show(other) + " has more axes than the tensor " + show(graphShape));
        }
        long[] out = graphShape.clone();
        int off = graphShape.length - other.length;
        BinaryOperator<Long> merge = (p, q) -> p.equals(q) || q == 1 ? p : p == 1 ? q : null;
        for (int i = 0; i < other.length; i++) {
            Long m = merge.apply(out[off + i], other[i]);
            if (m == null || off + i == 0 && m != -1) {
                throw n.error("shapes " + show(graphShape) + " and " + show(other) + " do not broadcast");
            }
            out[off + i] = m;
        }
        return out;
    }

    /** The constant with leading 1s up to {@code rank}, so it broadcasts against a graph tensor. */
    private static INDArray withRank(OnnxNode n, INDArray c, int rank) {
        if (c.rank() >= rank) {
            return c;
        }
        long[] s = new long[rank];
        Arrays.fill(s, 1);
        System.arraycopy(c.shape(), 0, s, rank - c.rank(), c.rank());
        return c.reshape(s);
    }

    private static String show(long[] shape) {
        StringBuilder s = new StringBuilder("[");
        for (int i = 0; i < shape.length; i++) {
            s.append(i > 0 ? "," : "").append(shape[i] == ShapeArithmetic.BATCH ? "N" : String.valueOf(shape[i]));
        }
        return s.append(']').toString();
    }
}
