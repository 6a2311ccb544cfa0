package org.dfq4j.zoo.tfjs;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import org.dfq4j.rewrite.DfqException;
import org.dfq4j.rewrite.graph.ModelChecks;
import org.dfq4j.rewrite.graph.Network;
import org.dfq4j.rewrite.graph.NetworkBuilder;
import org.dfq4j.rewrite.graph.Padding;
import org.nd4j.autodiff.samediff.SDVariable;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;
import com.fasterxml.jackson.databind.JsonNode;

/**
 * Translates a channels-last Keras topology with its weights into an NCHW {@link Network} through
 * {@link NetworkBuilder}. The Keras input [H,W,C] becomes the NCHW placeholder [C,H,W]; Keras
 * kernels [kH,kW,in,out] and depthwise kernels [kH,kW,C,mult] are already the builder's layouts;
 * channel axes (-1 in Keras) map to axis 1. Flatten and Reshape keep Keras' NHWC element order
 * (a permute precedes them when the spatial size exceeds 1), so a following Dense's weights apply
 * unchanged. A fused {@code activation} becomes a separate op named {@code <layer>/<activation>},
 * so the weight layer's own output keeps the layer's name.
 */
final class KerasGraphBuilder {

    private static final List<String> SUPPORTED = List.of("InputLayer", "Conv2D", "DepthwiseConv2D", "Dense",
            "BatchNormalization", "ReLU", "LeakyReLU", "Activation", "Softmax", "MaxPooling2D", "AveragePooling2D",
            "GlobalAveragePooling2D", "Add", "Concatenate", "ZeroPadding2D", "Reshape", "Flatten", "Dropout");
    /** Keras activation names the reader supports (Keras's vocabulary, matched by the lower-case constant name). */
    enum Activation {
        LINEAR, RELU, RELU6, SIGMOID, TANH, SOFTMAX;

        /** The Keras name, e.g. "relu6". */
        String keras() {
            return name().toLowerCase(Locale.ROOT);
        }

        /** The activation a Keras name denotes, or null. */
        static Activation of(String keras) {
            for (Activation a : values()) {
                if (a.keras().equals(keras)) {
                    return a;
                }
            }
            return null;
        }
    }

    /** A layer output: its graph variable and its shape without the batch axis, [C,H,W] or [F]. */
    private record Tensor(SDVariable var, long[] shape) {
        boolean image() {
            return shape.length == 3;
        }

        long channels() {
            return shape[0];
        }

        long size() {
            return Arrays.stream(shape).reduce(1, (a, b) -> a * b);
        }
    }

    private final Path file;
    private final TfjsWeights weights;
    private final NetworkBuilder nb;
    private final Map<String, Tensor> tensors = new HashMap<>();

    private KerasGraphBuilder(Path file, String name, TfjsWeights weights, long[] hwc) {
        this.file = file;
        this.weights = weights;
        this.nb = new NetworkBuilder(name, hwc[2], hwc[0], hwc[1]);
    }

    /** Emits every layer (in dependency order) and returns the network with the topology's outputs. */
    static Network build(Path file, KerasTopology topology, TfjsWeights weights) {
        KerasLayer in = topology.input();
        String dtype = in.string("dtype", "float32");
        if (!dtype.equals("float32")) {
            throw in.error("input dtype " + dtype + " is not supported; the input must be float32");
        }
        long[] hwc = topology.inputHwc();
        KerasGraphBuilder b = new KerasGraphBuilder(file, topology.name(), weights, hwc);
        b.tensors.put(in.name(), new Tensor(b.nb.input(), new long[] {hwc[2], hwc[0], hwc[1]}));
        String placeholder = b.nb.input().name();
        List<KerasLayer> pending = new ArrayList<>(topology.layers());
        while (!pending.isEmpty()) {
            boolean progress = false;
            for (var it = pending.iterator(); it.hasNext(); ) {
                KerasLayer l = it.next();
                if (l.name().equals(placeholder)) {
                    throw l.error("the name '" + placeholder + "' is reserved for the graph's input placeholder");
                }
                if (l.inbound().stream().allMatch(b.tensors::containsKey)) {
                    b.tensors.put(l.name(), b.emit(l));
                    it.remove();
                    progress = true;
                }
            }
            if (!progress) {
                throw pending.get(0).error("its inputs " + pending.get(0).inbound() + " form a cycle");
            }
        }
        String[] outs = topology.outputs().stream().map(o -> b.tensors.get(o).var().name()).toArray(String[]::new);
        return b.nb.build(outs);
    }

    private Tensor emit(KerasLayer l) {
        List<Tensor> ins = l.inbound().stream().map(tensors::get).toList();
        return switch (l.className()) {
            case "Conv2D" -> conv2d(l, single(l, ins));
            case "DepthwiseConv2D" -> depthwiseConv2d(l, single(l, ins));
            case "Dense" -> dense(l, single(l, ins));
            case "BatchNormalization" -> batchNorm(l, single(l, ins));
            case "ReLU" -> relu(l, single(l, ins));
            case "LeakyReLU" -> new Tensor(nb.leakyRelu(l.name(), single(l, ins).var(),
                    l.number("alpha", l.number("negative_slope", 0.3))), single(l, ins).shape());
            case "Activation" -> activation(l, single(l, ins), l.string("activation", Activation.LINEAR.keras()), l.name());
            case "Softmax" -> softmax(l, single(l, ins));
            case "MaxPooling2D", "AveragePooling2D" -> pool(l, single(l, ins));
            case "GlobalAveragePooling2D" -> globalAveragePool(l, single(l, ins));
            case "Add" -> add(l, ins);
            case "Concatenate" -> concatenate(l, ins);
            case "ZeroPadding2D" -> zeroPad(l, single(l, ins));
            case "Reshape" -> reshape(l, single(l, ins), targetShape(l, single(l, ins)));
            case "Flatten" -> flatten(l, single(l, ins));
            case "Dropout" -> single(l, ins); // identity at inference
            case "InputLayer" -> throw l.error("a second input layer; only single-input models can be read");
            default -> throw new DfqException(file + ": unsupported layer class '" + l.className() + "' (layer '"
                    + l.name() + "'); supported: " + String.join(", ", SUPPORTED));
        };
    }

    private Tensor conv2d(KerasLayer l, Tensor x) {
        l.requireChannelsLast();
        requireImage(l, x);
        if (l.integer("groups", 1) != 1) {
            throw l.error("grouped convolution (groups=" + l.integer("groups", 1) + ") is not supported");
        }
        int[] k = required(l, "kernel_size");
        int[] s = l.pair("strides", new int[] {1, 1});
        int[] d = l.pair("dilation_rate", new int[] {1, 1});
        int filters = l.integer("filters", -1);
        if (filters <= 0) {
            throw l.error("config field 'filters' must be a positive integer");
        }
        Padding pad = padding(l);
        long[] out = {filters, outSize(l, "height", x.shape()[1], k[0], s[0], d[0], pad),
            outSize(l, "width", x.shape()[2], k[1], s[1], d[1], pad)};
        INDArray w = weights.require(l, "kernel", k[0], k[1], x.channels(), filters);
        INDArray bias = l.bool("use_bias", true) ? weights.require(l, "bias", filters) : null;
        SDVariable y = nb.conv2d(l.name(), x.var(), w, bias, s[0], s[1], pad, d[0], d[1]);
        return fusedActivation(l, new Tensor(y, out));
    }

    private Tensor depthwiseConv2d(KerasLayer l, Tensor x) {
        l.requireChannelsLast();
        requireImage(l, x);
        int[] k = required(l, "kernel_size");
        int[] s = l.pair("strides", new int[] {1, 1});
        int[] d = l.pair("dilation_rate", new int[] {1, 1});
        int mult = l.integer("depth_multiplier", 1);
        if (mult < 1) {
            throw l.error("config field 'depth_multiplier' must be a positive integer, got " + mult);
        }
        Padding pad = padding(l);
        long out = x.channels() * mult;
        long[] shape = {out, outSize(l, "height", x.shape()[1], k[0], s[0], d[0], pad),
            outSize(l, "width", x.shape()[2], k[1], s[1], d[1], pad)};
        INDArray w = weights.require(l, "depthwise_kernel", k[0], k[1], x.channels(), mult);
        INDArray bias = l.bool("use_bias", true) ? weights.require(l, "bias", out) : null;
        SDVariable y = nb.depthwiseConv2d(l.name(), x.var(), w, bias, s[0], s[1], pad, d[0], d[1]);
        return fusedActivation(l, new Tensor(y, shape));
    }

    private Tensor dense(KerasLayer l, Tensor x) {
        if (x.image()) {
            throw l.error("Dense on a 4-D tensor " + keras(x) + " is not supported; flatten or pool before it");
        }
        int units = l.integer("units", -1);
        if (units <= 0) {
            throw l.error("config field 'units' must be a positive integer");
        }
        INDArray w = weights.require(l, "kernel", x.channels(), units);
        INDArray bias = l.bool("use_bias", true) ? weights.require(l, "bias", units) : null;
        return fusedActivation(l, new Tensor(nb.dense(l.name(), x.var(), w, bias), new long[] {units}));
    }

    private Tensor batchNorm(KerasLayer l, Tensor x) {
        JsonNode axisNode = l.config().get("axis");
        if (axisNode != null && axisNode.isArray() && axisNode.size() == 1) {
            axisNode = axisNode.get(0);
        }
        int axis = axisNode == null || axisNode.isNull() ? -1 : axisNode.isIntegralNumber() ? axisNode.asInt() : 0;
        if (axis != -1 && axis != x.shape().length) {
            throw l.error("axis " + l.config().get("axis") + " is not the channel axis; only channel BatchNorm"
                    + " (axis -1) is supported");
        }
        long c = x.channels();
        INDArray gamma = l.bool("scale", true) ? weights.require(l, "gamma", c) : Nd4j.ones(DataType.FLOAT, c);
        INDArray beta = l.bool("center", true) ? weights.require(l, "beta", c) : Nd4j.zeros(DataType.FLOAT, c);
        INDArray mean = weights.require(l, "moving_mean", c);
        INDArray var = weights.require(l, "moving_variance", c);
        double eps = l.number("epsilon", 1e-3);
        String bad = ModelChecks.batchNormProblem("weight 'moving_variance'", var, eps);
        if (bad != null) {
            throw l.error(bad);
        }
        return new Tensor(nb.batchNorm(l.name(), x.var(), mean, var, gamma, beta, eps), x.shape());
    }

    private Tensor relu(KerasLayer l, Tensor x) {
        double max = l.number("max_value", Double.NaN);
        double slope = l.number("negative_slope", 0);
        double threshold = l.number("threshold", 0);
        if (threshold == 0 && slope == 0 && Double.isNaN(max)) {
            return new Tensor(nb.relu(l.name(), x.var()), x.shape());
        }
        if (threshold == 0 && slope == 0 && max == 6) {
            return new Tensor(nb.relu6(l.name(), x.var()), x.shape());
        }
        if (threshold == 0 && slope > 0 && Double.isNaN(max)) {
            return new Tensor(nb.leakyRelu(l.name(), x.var(), slope), x.shape());
        }
        throw l.error("ReLU with max_value=" + (Double.isNaN(max) ? "None" : max) + ", negative_slope=" + slope
                + ", threshold=" + threshold + " is not supported; supported: plain ReLU, max_value 6 (ReLU6),"
                + " or negative_slope without max_value (leaky)");
    }

    /** The layer's {@code activation} attribute as an op of its own after the layer. */
    private Tensor fusedActivation(KerasLayer l, Tensor y) {
        String act = l.string("activation", Activation.LINEAR.keras());
        return Activation.of(act) == Activation.LINEAR ? y : activation(l, y, act, l.name() + "/" + act);
    }

    private Tensor activation(KerasLayer l, Tensor x, String act, String out) {
        SDVariable v = x.var();
        Activation a = Activation.of(act);
        if (a == null) {
            throw l.error("activation '" + act + "' is not supported; supported: "
                    + String.join(", ", Arrays.stream(Activation.values()).map(Activation::keras).toList()));
        }
        SDVariable y = switch (a) {
            case LINEAR -> null;
            case RELU -> nb.relu(out, v);
            case RELU6 -> nb.relu6(out, v);
            case SIGMOID -> nb.sigmoid(out, v);
            case TANH -> nb.tanh(out, v);
            case SOFTMAX -> nb.softmax(out, v);
        };
        return y == null ? x : new Tensor(y, x.shape());
    }

    private Tensor softmax(KerasLayer l, Tensor x) {
        int axis = l.integer("axis", -1);
        if (axis != -1 && axis != x.shape().length) {
            throw l.error("softmax over axis " + axis + " is not supported; only the channel axis (-1) is");
        }
        return new Tensor(nb.softmax(l.name(), x.var()), x.shape());
    }

    private Tensor pool(KerasLayer l, Tensor x) {
        l.requireChannelsLast();
        requireImage(l, x);
        int[] k = l.pair("pool_size", new int[] {2, 2});
        int[] s = l.pair("strides", k);
        Padding pad = padding(l);
        long[] out = {x.channels(), outSize(l, "height", x.shape()[1], k[0], s[0], 1, pad),
            outSize(l, "width", x.shape()[2], k[1], s[1], 1, pad)};
        SDVariable y = l.className().equals("MaxPooling2D")
                ? nb.maxPool(l.name(), x.var(), k[0], k[1], s[0], s[1], pad)
                : nb.avgPool(l.name(), x.var(), k[0], k[1], s[0], s[1], pad);
        return new Tensor(y, out);
    }

    private Tensor globalAveragePool(KerasLayer l, Tensor x) {
        l.requireChannelsLast();
        requireImage(l, x);
        boolean keep = l.bool("keepdims", false);
        return new Tensor(nb.globalAvgPool(l.name(), x.var(), keep),
                keep ? new long[] {x.channels(), 1, 1} : new long[] {x.channels()});
    }

    private Tensor add(KerasLayer l, List<Tensor> ins) {
        if (ins.size() < 2) {
            throw l.error("needs at least two inputs, got " + ins.size());
        }
        for (Tensor t : ins) {
            if (!Arrays.equals(t.shape(), ins.get(0).shape())) {
                throw l.error("inputs have different shapes " + keras(ins.get(0)) + " and " + keras(t));
            }
        }
        SDVariable sum = ins.get(0).var();
        for (int i = 1; i < ins.size(); i++) {
            sum = nb.add(i == ins.size() - 1 ? l.name() : l.name() + "/" + i, sum, ins.get(i).var());
        }
        return new Tensor(sum, ins.get(0).shape());
    }

    private Tensor concatenate(KerasLayer l, List<Tensor> ins) {
        if (ins.isEmpty()) {
            throw l.error("has no inputs");
        }
        int rank = ins.get(0).shape().length;
        int kerasAxis = l.integer("axis", -1);
        int a = kerasAxis < 0 ? kerasAxis + rank + 1 : kerasAxis;
        if (a < 1 || a > rank) {
            throw l.error("cannot concatenate along axis " + kerasAxis + " of rank-" + (rank + 1) + " tensors");
        }
        // Keras NHWC axis 1 (H), 2 (W), 3 (C) -> NCHW axis 2, 3, 1; for [N,F] axis 1 stays 1.
        int axis = rank == 3 ? (a == 3 ? 1 : a + 1) : a;
        long[] shape = ins.get(0).shape().clone();
        shape[axis - 1] = 0;
        for (Tensor t : ins) {
            for (int i = 0; i < rank; i++) {
                if (t.shape().length != rank || (i != axis - 1 && t.shape()[i] != shape[i])) {
                    throw l.error("inputs " + keras(ins.get(0)) + " and " + keras(t) + " do not fit along axis "
                            + kerasAxis);
                }
            }
            shape[axis - 1] += t.shape()[axis - 1];
        }
        SDVariable[] vars = ins.stream().map(Tensor::var).toArray(SDVariable[]::new);
        return new Tensor(nb.concat(l.name(), axis, vars), shape);
    }

    private Tensor zeroPad(KerasLayer l, Tensor x) {
        l.requireChannelsLast();
        requireImage(l, x);
        JsonNode p = l.config().get("padding");
        int top;
        int bottom;
        int left;
        int right;
        if (p != null && p.isArray() && p.size() == 2 && p.get(0).isArray() && p.get(1).isArray()
                && p.get(0).size() == 2 && p.get(1).size() == 2) {
            top = p.get(0).get(0).asInt();
            bottom = p.get(0).get(1).asInt();
            left = p.get(1).get(0).asInt();
            right = p.get(1).get(1).asInt();
        } else {
            int[] hw = l.pair("padding", new int[] {1, 1});
            top = hw[0];
            bottom = hw[0];
            left = hw[1];
            right = hw[1];
        }
        int most = Math.max(Math.max(top, bottom), Math.max(left, right));
        if (top < 0 || bottom < 0 || left < 0 || right < 0 || most > ModelChecks.MAX_SIDE) {
            throw l.error("padding " + p + " must be between 0 and " + ModelChecks.MAX_SIDE);
        }
        String big = ModelChecks.tensorProblem(x.channels(), x.shape()[1] + top + bottom, x.shape()[2] + left + right);
        if (big != null) {
            throw l.error("the padded tensor's " + big);
        }
        return new Tensor(nb.zeroPad(l.name(), x.var(), top, bottom, left, right),
                new long[] {x.channels(), x.shape()[1] + top + bottom, x.shape()[2] + left + right});
    }

    private Tensor flatten(KerasLayer l, Tensor x) {
        l.requireChannelsLast();
        return x.image() ? reshape(l, x, new long[] {x.size()}) : x;
    }

    /**
     * Reshape to a Keras target shape ([F] or [H,W,C]) in Keras' element order: the flat order of an
     * NHWC tensor. An NCHW tensor with spatial size above 1 is permuted to NHWC first, and an [H,W,C]
     * result with spatial size above 1 is permuted back to NCHW.
     */
    private Tensor reshape(KerasLayer l, Tensor x, long[] target) {
        SDVariable src = x.var();
        if (x.image() && x.shape()[1] * x.shape()[2] > 1) {
            src = nb.permute(l.name() + "/nhwc", src, 0, 2, 3, 1);
        }
        if (target.length == 1) {
            return new Tensor(nb.reshape(l.name(), src, -1, target[0]), target);
        }
        long h = target[0];
        long w = target[1];
        long c = target[2];
        long[] nchw = {c, h, w};
        if (h * w == 1) {
            return new Tensor(nb.reshape(l.name(), src, -1, c, 1, 1), nchw);
        }
        SDVariable nhwc = nb.reshape(l.name() + "/reshaped", src, -1, h, w, c);
        return new Tensor(nb.permute(l.name(), nhwc, 0, 3, 1, 2), nchw);
    }

    /** {@code target_shape} with a -1 entry resolved; it must hold as many values as the input. */
    private static long[] targetShape(KerasLayer l, Tensor x) {
        long[] t = l.longs("target_shape");
        if (t.length != 1 && t.length != 3) {
            throw l.error("target_shape " + Arrays.toString(t) + " is not supported; only [F] and [H, W, C] are");
        }
        long known = 1;
        int unknown = -1;
        for (int i = 0; i < t.length; i++) {
            if (t[i] == -1 && unknown < 0) {
                unknown = i;
            } else if (t[i] <= 0) {
                throw l.error("invalid target_shape " + Arrays.toString(t));
            } else {
                known *= t[i];
            }
        }
        if (unknown >= 0 && x.size() % known == 0) {
            t[unknown] = x.size() / known;
            known = x.size();
        }
        if (known != x.size()) {
            throw l.error("cannot reshape " + keras(x) + " (" + x.size() + " values) to " + Arrays.toString(t));
        }
        return t;
    }

    private static Padding padding(KerasLayer l) {
        String p = l.string("padding", "valid");
        return switch (p) {
            case "same" -> Padding.SAME;
            case "valid" -> Padding.VALID;
            default -> throw l.error("padding '" + p + "' is not supported; only same and valid are");
        };
    }

    /**
     * Output length along one spatial axis, TensorFlow's rule for SAME and VALID, after checking the
     * window (kernel, stride and dilation at least 1, fitting the padded input).
     */
    private static long outSize(KerasLayer l, String axis, long in, int k, int s, int d, Padding pad) {
        long[] p = pad == Padding.SAME && k >= 1 && s >= 1 && d >= 1 ? ModelChecks.samePadding(in, k, s, d) : new long[2];
        String bad = ModelChecks.windowProblem(axis, in, k, s, d, p[0], p[1]);
        if (bad != null) {
            throw l.error("bad window (kernel_size/pool_size, strides, dilation_rate): " + bad);
        }
        return pad == Padding.SAME ? (in + s - 1) / s : (in - (long) d * (k - 1) - 1) / s + 1;
    }

    private static int[] required(KerasLayer l, String field) {
        int[] v = l.pair(field, null);
        if (v == null) {
            throw l.error("config field '" + field + "' is missing");
        }
        return v;
    }

    private static Tensor single(KerasLayer l, List<Tensor> ins) {
        if (ins.size() != 1) {
            throw l.error("expects one input, got " + ins.size());
        }
        return ins.get(0);
    }

    private static void requireImage(KerasLayer l, Tensor x) {
        if (!x.image()) {
            throw l.error("needs a 4-D image tensor, got " + keras(x));
        }
    }

    /** A shape as Keras writes it: [null, H, W, C] or [null, F]. */
    private static String keras(Tensor t) {
        long[] s = t.shape();
        return s.length == 3 ? "[null, " + s[1] + ", " + s[2] + ", " + s[0] + "]" : "[null, " + s[0] + "]";
    }
}
