package org.dfq4j.zoo.tflite;

import com.google.flatbuffers.Table;
import java.nio.BufferUnderflowException;
import java.nio.ByteBuffer;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;
import java.util.function.BiFunction;
import java.util.function.Function;
import org.dfq4j.rewrite.DfqException;
import org.dfq4j.rewrite.graph.ModelChecks;
import org.dfq4j.rewrite.graph.Network;
import org.dfq4j.rewrite.graph.NetworkBuilder;
import org.dfq4j.rewrite.graph.Padding;
import org.dfq4j.rewrite.graph.TensorRange;
import org.nd4j.autodiff.samediff.SDVariable;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;
import org.tensorflow.lite.schema.ActivationFunctionType;
import org.tensorflow.lite.schema.AddOptions;
import org.tensorflow.lite.schema.BuiltinOperator;
import org.tensorflow.lite.schema.BuiltinOptions;
import org.tensorflow.lite.schema.ConcatenationOptions;
import org.tensorflow.lite.schema.Conv2DOptions;
import org.tensorflow.lite.schema.DepthwiseConv2DOptions;
import org.tensorflow.lite.schema.FullyConnectedOptions;
import org.tensorflow.lite.schema.FullyConnectedOptionsWeightsFormat;
import org.tensorflow.lite.schema.MulOptions;
import org.tensorflow.lite.schema.Operator;
import org.tensorflow.lite.schema.Pool2DOptions;
import org.tensorflow.lite.schema.ReducerOptions;
import org.tensorflow.lite.schema.ResizeBilinearOptions;
import org.tensorflow.lite.schema.SoftmaxOptions;
import org.tensorflow.lite.schema.TensorType;

/**
 * Translates the operators of a TFLite subgraph, in file order, into {@link NetworkBuilder} ops.
 *
 * <p>Layout: TFLite activations are NHWC. A 4-D tensor made by a spatial op (convolution, pooling,
 * resize, the image input) is held NCHW in the graph; every other tensor is held in TFLite's own
 * layout. An op that needs the other layout converts its input (a reshape when the two layouts share
 * one memory order, i.e. H*W == 1 or C == 1, else a permute), and axis arguments (MEAN,
 * CONCATENATION, PAD) are remapped to the layout actually used.
 */
final class GraphTranslator {

    /** NCHW axis i holds NHWC axis NHWC_OF_NCHW[i]. */
    private static final int[] NHWC_OF_NCHW = {0, 3, 1, 2};
    /** NHWC axis i is NCHW axis NCHW_OF_NHWC[i]. */
    private static final int[] NCHW_OF_NHWC = {0, 2, 3, 1};

    static final String SUPPORTED = "CONV_2D, DEPTHWISE_CONV_2D, FULLY_CONNECTED, ADD, MUL, MEAN, AVERAGE_POOL_2D, "
            + "MAX_POOL_2D, RESHAPE, SQUEEZE, SOFTMAX, CONCATENATION, PAD, RESIZE_BILINEAR, LOGISTIC, RELU, RELU6, "
            + "QUANTIZE, DEQUANTIZE, " + DetectionPostProcess.OP_NAME;

    private enum Activation { NONE, RELU, RELU6 }

    /** A translated tensor: its variable, its TFLite (NHWC) shape, and whether the variable holds it NCHW. */
    private record Value(SDVariable var, long[] shape, boolean nchw) {
        int rank() {
            return shape.length;
        }
    }

    private final TfliteModel m;
    private final NetworkBuilder b;
    private final VariableNames names;
    private final Map<Integer, Value> values = new HashMap<>();
    /** Constants made by DEQUANTIZE of a constant (float16 or int8 weights of hybrid models). */
    private final Map<Integer, INDArray> foldedConstants = new HashMap<>();
    /** Layout conversions already emitted, by source variable name and target layout. */
    private final Map<String, SDVariable> conversions = new HashMap<>();
    private final Map<String, TensorRange> ranges = new LinkedHashMap<>();
    private final Map<String, String> properties = new LinkedHashMap<>();
    private final Map<String, INDArray> attachments = new LinkedHashMap<>();
    /** Outputs of a detection post-processing op, mapped to the op's box and class inputs. */
    private final Map<Integer, int[]> postProcessed = new HashMap<>();

    private GraphTranslator(TfliteModel m, NetworkBuilder b) {
        this.m = m;
        this.b = b;
        this.names = new VariableNames(b.sameDiff());
    }

    /** The network the model's main subgraph computes, on a float NCHW input. */
    static Network translate(TfliteModel m, String networkName) {
        if (m.graph().inputsLength() != 1) {
            throw new DfqException(m.file() + ": expected one image input, the model has " + m.graph().inputsLength());
        }
        int in = m.graph().inputs(0);
        long[] s = m.shape(in);
        byte type = m.type(in);
        if (s.length != 4 || (type != TensorType.FLOAT32 && type != TensorType.UINT8 && type != TensorType.INT8)) {
            throw new DfqException(m.file() + ": input " + m.describe(in)
                    + " is not an image; expected float32, uint8 or int8 [1,H,W,C]");
        }
        String bad = ModelChecks.inputProblem(s[3], s[1], s[2]);
        if (bad != null) {
            throw new DfqException(m.file() + ": input " + m.describe(in) + ": " + bad);
        }
        GraphTranslator t = new GraphTranslator(m, new NetworkBuilder(networkName, s[3], s[1], s[2]));
        return t.run(in);
    }

    private Network run(int input) {
        names.unique(b.input().name());
        define(input, b.input(), true);
        properties.put("format", "tflite");
        properties.put("source", m.file().toString());
        TensorRange inRange = ranges.get(b.input().name());
        if (inRange != null) {
            // A quantized input: the graph takes the dequantized (real) value, expected within this range.
            properties.put("input.type", TensorType.name(m.type(input)).toLowerCase(Locale.ROOT));
            properties.put("input.range", inRange.min() + "," + inRange.max());
        }
        for (int i = 0; i < m.operatorCount(); i++) {
            try {
                translate(i, m.operator(i));
            } catch (DfqException e) {
                throw e;
            } catch (IndexOutOfBoundsException | BufferUnderflowException e) {
                // a read past the end of the flatbuffer, e.g. of an options table
                throw new DfqException(m.file() + ": corrupt or truncated TFLite file (operator #" + i + ", "
                        + e.getClass().getSimpleName() + ")", e);
            } catch (RuntimeException e) {
                String msg = String.valueOf(e.getMessage()).lines().findFirst().orElse("");
                throw new DfqException(m.file() + ": cannot translate operator #" + i + " (" + m.opName(i) + "): "
                        + e.getClass().getSimpleName() + ": " + msg, e);
            }
        }
        return b.build(new ArrayList<>(outputs()), ranges).withProperties(properties).withAttachments(attachments);
    }

    /** The graph outputs: 4-D outputs NCHW, others in TFLite's layout. */
    private Set<String> outputs() {
        Set<String> outs = new LinkedHashSet<>();
        for (int i = 0; i < m.graph().outputsLength(); i++) {
            int t = m.graph().outputs(i);
            for (int h : postProcessed.getOrDefault(t, new int[] {t})) {
                Value v = value(h);
                outs.add(v.rank() == 4 ? nchw(v).name() : v.var().name());
            }
        }
        return outs;
    }

    private void translate(int i, Operator op) {
        switch (m.builtinCode(i)) {
            case BuiltinOperator.CONV_2D -> conv(i, op);
            case BuiltinOperator.DEPTHWISE_CONV_2D -> depthwise(i, op);
            case BuiltinOperator.FULLY_CONNECTED -> fullyConnected(op);
            case BuiltinOperator.ADD -> {
                AddOptions o = optionalOptions(op, BuiltinOptions.AddOptions, new AddOptions());
                elementwise(op, o == null ? ActivationFunctionType.NONE : o.fusedActivationFunction(), "add", b::add);
            }
            case BuiltinOperator.MUL -> {
                MulOptions o = optionalOptions(op, BuiltinOptions.MulOptions, new MulOptions());
                elementwise(op, o == null ? ActivationFunctionType.NONE : o.fusedActivationFunction(), "mul", b::mul);
            }
            case BuiltinOperator.MEAN -> mean(i, op);
            case BuiltinOperator.AVERAGE_POOL_2D -> pool(i, op, false);
            case BuiltinOperator.MAX_POOL_2D -> pool(i, op, true);
            case BuiltinOperator.RESHAPE, BuiltinOperator.SQUEEZE -> reshape(op);
            case BuiltinOperator.SOFTMAX -> softmax(i, op);
            case BuiltinOperator.CONCATENATION -> concat(i, op);
            case BuiltinOperator.PAD -> pad(op);
            case BuiltinOperator.RESIZE_BILINEAR -> resize(op);
            case BuiltinOperator.LOGISTIC -> unary(op, b::sigmoid);
            case BuiltinOperator.RELU -> unary(op, b::relu);
            case BuiltinOperator.RELU6 -> unary(op, b::relu6);
            case BuiltinOperator.QUANTIZE, BuiltinOperator.DEQUANTIZE -> identity(op);
            case BuiltinOperator.CUSTOM -> custom(i, op);
            default -> throw unsupported(i);
        }
    }

    private DfqException unsupported(int i) {
        return new DfqException(m.file() + ": unsupported TFLite op " + m.opName(i) + " (operator #" + i
                + "); supported ops: " + SUPPORTED);
    }

    // ---- weight layers ----

    private void conv(int i, Operator op) {
        Conv2DOptions o = options(i, op, BuiltinOptions.Conv2DOptions, new Conv2DOptions());
        Value x = value(op.inputs(0));
        INDArray w = weights(op.inputs(1), 4);
        if (x.rank() != 4 || w.size(3) != x.shape()[3]) {
            throw new DfqException(m.file() + ": convolution weights " + m.describe(op.inputs(1)) + " do not fit input "
                    + m.describe(op.inputs(0)) + " (operator #" + i + ")");
        }
        Padding pad = padding(i, o.padding());
        checkWindow(i, x, w.size(1), w.size(2), o.strideH(), o.strideW(), o.dilationHFactor(), o.dilationWFactor(), pad);
        INDArray hwio = w.permute(1, 2, 3, 0).dup('c'); // [out,kh,kw,in] -> [kh,kw,in,out]
        INDArray bias = bias(op, w.size(0));
        int out = op.outputs(0);
        SDVariable y = layer(out, activation(o.fusedActivationFunction(), out, true), "conv2d",
                n -> b.conv2d(n, nchw(x), hwio, bias, o.strideH(), o.strideW(), pad,
                        o.dilationHFactor(), o.dilationWFactor()));
        define(out, y, true);
    }

    private void depthwise(int i, Operator op) {
        DepthwiseConv2DOptions o = options(i, op, BuiltinOptions.DepthwiseConv2DOptions, new DepthwiseConv2DOptions());
        Value x = value(op.inputs(0));
        INDArray w = weights(op.inputs(1), 4);
        long channels = x.rank() == 4 ? x.shape()[3] : -1;
        long outChannels = w.size(3);
        if (channels <= 0 || w.size(0) != 1 || outChannels % channels != 0) {
            throw new DfqException(m.file() + ": depthwise weights " + m.describe(op.inputs(1)) + " do not fit "
                    + channels + " input channels");
        }
        Padding pad = padding(i, o.padding());
        checkWindow(i, x, w.size(1), w.size(2), o.strideH(), o.strideW(), o.dilationHFactor(), o.dilationWFactor(), pad);
        // [1,kh,kw,C*m] -> [kh,kw,C,m]: output channel c*m+j reads input channel c, in both.
        INDArray hwcm = w.reshape('c', w.size(1), w.size(2), channels, outChannels / channels).dup('c');
        INDArray bias = bias(op, outChannels);
        int out = op.outputs(0);
        SDVariable y = layer(out, activation(o.fusedActivationFunction(), out, true), "depthwise",
                n -> b.depthwiseConv2d(n, nchw(x), hwcm, bias, o.strideH(), o.strideW(), pad,
                        o.dilationHFactor(), o.dilationWFactor()));
        define(out, y, true);
    }

    private void fullyConnected(Operator op) {
        FullyConnectedOptions o = optionalOptions(op, BuiltinOptions.FullyConnectedOptions, new FullyConnectedOptions());
        byte fused = o == null ? ActivationFunctionType.NONE : o.fusedActivationFunction();
        if (o != null && o.weightsFormat() != FullyConnectedOptionsWeightsFormat.DEFAULT) {
            throw new DfqException(m.file() + ": FULLY_CONNECTED with shuffled weights is not supported");
        }
        int out = op.outputs(0);
        if (m.shape(out).length != 2) {
            throw new DfqException(m.file() + ": FULLY_CONNECTED with output " + m.describe(out)
                    + " (keep_num_dims) is not supported; expected [N, units]");
        }
        Value x = value(op.inputs(0));
        INDArray w = weights(op.inputs(1), 2);
        long features = Arrays.stream(x.shape()).skip(1).reduce(1, (p, q) -> p * q);
        if (features != w.size(1)) {
            throw new DfqException(m.file() + ": FULLY_CONNECTED weights " + m.describe(op.inputs(1))
                    + " do not fit input " + m.describe(op.inputs(0)));
        }
        INDArray io = w.transpose().dup('c'); // [out,in] -> [in,out]
        INDArray bias = bias(op, w.size(0));
        String base = VariableNames.sanitize(m.name(out), out);
        SDVariable in = inTfliteOrder(x);
        if (x.rank() != 2) {
            in = b.reshape(names.unique(base + "/flatten"), in, -1, w.size(1));
        }
        SDVariable flat = in;
        SDVariable y = layer(out, activation(fused, out, true), "dense", n -> b.dense(n, flat, io, bias));
        define(out, y, false);
    }

    private INDArray weights(int t, int rank) {
        INDArray w = constant(t);
        if (w.rank() != rank) {
            throw new DfqException(m.file() + ": weights " + m.describe(t) + " should have rank " + rank);
        }
        return w;
    }

    /**
     * The op's bias (input 2) as float, or null when absent. An int32 bias is dequantized with its own
     * recorded scales, or, when it records none, with input_scale * weight_scale[c] (TFLite's rule).
     */
    private INDArray bias(Operator op, long channels) {
        int t = op.inputsLength() > 2 ? op.inputs(2) : -1;
        if (t < 0) {
            return null;
        }
        if (m.type(t) != TensorType.INT32 || m.quantization(t).isPresent() || foldedConstants.containsKey(t)) {
            return constant(t);
        }
        Quantization qx = m.quantization(op.inputs(0)).orElse(null);
        Quantization qw = m.quantization(op.inputs(1)).orElse(null);
        if (qx == null || qw == null) {
            throw new DfqException(m.file() + ": int32 bias " + m.describe(t)
                    + " has no scale and its input or weights are not quantized");
        }
        float[] s = new float[(int) channels];
        for (int c = 0; c < s.length; c++) {
            s[c] = (float) (qx.scale(0) * qw.scale(c));
        }
        return m.constant(t, new Quantization(s, new long[] {0}, 0));
    }

    // ---- other ops ----

    private void elementwise(Operator op, byte fused, String kind, Binary fn) {
        int at = op.inputs(0);
        int bt = op.inputs(1);
        List<Value> acts = new ArrayList<>();
        for (int t : new int[] {at, bt}) {
            if (!isConstant(t)) {
                acts.add(value(t));
            }
        }
        if (acts.isEmpty()) {
            throw new DfqException(m.file() + ": " + kind + " of two constants (" + m.describe(at) + ") is not supported");
        }
        boolean nchw = acts.stream().allMatch(v -> v.rank() == 4) && acts.stream().anyMatch(Value::nchw);
        SDVariable a = operand(at, nchw);
        SDVariable c = operand(bt, nchw);
        int out = op.outputs(0);
        define(out, layer(out, activation(fused, out, false), kind, n -> fn.apply(n, a, c)), nchw);
    }

    @FunctionalInterface
    private interface Binary {
        SDVariable apply(String name, SDVariable a, SDVariable b);
    }

    /** An operand of an elementwise op in the chosen layout; a constant is broadcast-shaped for NCHW. */
    private SDVariable operand(int t, boolean nchw) {
        if (!isConstant(t)) {
            Value v = value(t);
            return nchw ? nchw(v) : nhwc(v);
        }
        if (!nchw) {
            return value(t).var();
        }
        INDArray c = constant(t);
        if (c.rank() > 4) {
            throw new DfqException(m.file() + ": constant " + m.describe(t) + " cannot broadcast against an image tensor");
        }
        long[] s4 = {1, 1, 1, 1};
        long[] s = c.shape();
        System.arraycopy(s, 0, s4, 4 - s.length, s.length);
        INDArray asNchw = c.reshape('c', s4).permute(0, 3, 1, 2).dup('c');
        return b.constant(names.unique(VariableNames.sanitize(m.name(t), t) + "/nchw"), asNchw);
    }

    private void mean(int i, Operator op) {
        ReducerOptions o = options(i, op, BuiltinOptions.ReducerOptions, new ReducerOptions());
        Value x = value(op.inputs(0));
        int[] axes = normalizedAxes(m.ints(op.inputs(1)), x.rank());
        int out = op.outputs(0);
        String name = tensorName(out);
        boolean keep = o.keepDims();
        if (x.nchw()) {
            int[] mapped = Arrays.stream(axes).map(a -> NCHW_OF_NHWC[a]).sorted().toArray();
            if (keep || remainingOrderAgrees(axes)) {
                SDVariable y = Arrays.equals(mapped, new int[] {2, 3}) ? b.globalAvgPool(name, x.var(), keep)
                        : b.mean(name, x.var(), keep, mapped);
                define(out, y, keep);
                return;
            }
        }
        define(out, b.mean(name, nhwc(x), keep, axes), false);
    }

    /** True when the axes an NCHW mean keeps come out in the same order as TFLite's NHWC result. */
    private static boolean remainingOrderAgrees(int[] reducedNhwc) {
        int last = -1;
        for (int a = 0; a < 4; a++) {
            final int axis = a;
            if (Arrays.stream(reducedNhwc).noneMatch(r -> r == axis)) {
                if (NCHW_OF_NHWC[a] < last) {
                    return false;
                }
                last = NCHW_OF_NHWC[a];
            }
        }
        return true;
    }

    private void pool(int i, Operator op, boolean max) {
        Pool2DOptions o = options(i, op, BuiltinOptions.Pool2DOptions, new Pool2DOptions());
        Value x = value(op.inputs(0));
        int out = op.outputs(0);
        Padding pad = padding(i, o.padding());
        checkWindow(i, x, o.filterHeight(), o.filterWidth(), o.strideH(), o.strideW(), 1, 1, pad);
        SDVariable y = layer(out, activation(o.fusedActivationFunction(), out, false), max ? "maxpool" : "avgpool",
                n -> max ? b.maxPool(n, nchw(x), o.filterHeight(), o.filterWidth(), o.strideH(), o.strideW(), pad)
                        : b.avgPool(n, nchw(x), o.filterHeight(), o.filterWidth(), o.strideH(), o.strideW(), pad));
        define(out, y, true);
    }

    /** RESHAPE and SQUEEZE: to the output tensor's recorded shape, on data in TFLite's memory order. */
    private void reshape(Operator op) {
        Value x = value(op.inputs(0));
        int out = op.outputs(0);
        long[] target = m.shape(out);
        if (target.length == 0 && Arrays.stream(x.shape()).reduce(1, (p, q) -> p * q) != 1) {
            throw new DfqException(m.file() + ": reshape output " + m.describe(out) + " has no recorded shape");
        }
        long[] shape = target.clone();
        if (shape.length > 0 && x.rank() > 0 && shape[0] == x.shape()[0]) {
            shape[0] = -1; // the batch dimension
        }
        define(out, b.reshape(tensorName(out), inTfliteOrder(x), shape), false);
    }

    private void softmax(int i, Operator op) {
        SoftmaxOptions o = optionalOptions(op, BuiltinOptions.SoftmaxOptions, new SoftmaxOptions());
        Value x = value(op.inputs(0));
        SDVariable in;
        boolean nchw;
        if (x.rank() == 4) { // TFLite's last axis, C, is NCHW axis 1
            in = nchw(x);
            nchw = true;
        } else if (x.rank() == 2) {
            in = x.var();
            nchw = false;
        } else {
            throw new DfqException(m.file() + ": SOFTMAX over the last axis of rank-" + x.rank() + " tensor "
                    + m.describe(op.inputs(0)) + " is not supported (operator #" + i + ")");
        }
        int out = op.outputs(0);
        String name = tensorName(out);
        if (o != null && o.beta() != 1f) {
            SDVariable beta = b.constant(names.unique(name + "/beta"), Nd4j.scalar(o.beta()));
            in = b.mul(names.unique(name + "/scaled"), in, beta);
        }
        define(out, b.softmax(name, in), nchw);
    }

    private void concat(int i, Operator op) {
        ConcatenationOptions o = options(i, op, BuiltinOptions.ConcatenationOptions, new ConcatenationOptions());
        List<Value> xs = new ArrayList<>();
        for (int k = 0; k < op.inputsLength(); k++) {
            xs.add(value(op.inputs(k)));
        }
        int rank = xs.get(0).rank();
        int axis = normalizedAxes(new int[] {o.axis()}, rank)[0];
        boolean nchw = xs.stream().allMatch(v -> v.rank() == 4) && xs.stream().anyMatch(Value::nchw);
        SDVariable[] vars = xs.stream().map(v -> nchw ? nchw(v) : nhwc(v)).toArray(SDVariable[]::new);
        int ax = nchw ? NCHW_OF_NHWC[axis] : axis;
        int out = op.outputs(0);
        define(out, layer(out, activation(o.fusedActivationFunction(), out, false), "concat",
                n -> b.concat(n, ax, vars)), nchw);
    }

    private void pad(Operator op) {
        Value x = value(op.inputs(0));
        int[] p = m.ints(op.inputs(1));
        if (p.length != 2 * x.rank()) {
            throw new DfqException(m.file() + ": PAD amounts " + m.describe(op.inputs(1)) + " do not fit rank " + x.rank());
        }
        for (int v : p) {
            if (v < 0 || v > ModelChecks.MAX_SIDE) {
                throw new DfqException(m.file() + ": PAD amounts " + m.describe(op.inputs(1)) + " hold " + v
                        + "; they must be between 0 and " + ModelChecks.MAX_SIDE);
            }
        }
        int[][] rows = new int[x.rank()][];
        for (int a = 0; a < rows.length; a++) {
            int src = x.nchw() ? NHWC_OF_NCHW[a] : a;
            rows[a] = new int[] {p[2 * src], p[2 * src + 1]};
        }
        long[] padded = x.shape().clone();
        for (int a = 1; a < padded.length; a++) {
            padded[a] += p[2 * a] + p[2 * a + 1];
        }
        String big = ModelChecks.tensorProblem(java.util.Arrays.copyOfRange(padded, 1, padded.length));
        if (big != null) {
            throw new DfqException(m.file() + ": PAD of " + m.describe(op.inputs(0)) + " makes a tensor of " + big);
        }
        int out = op.outputs(0);
        define(out, b.zeroPad(tensorName(out), x.var(), rows), x.nchw());
    }

    private void resize(Operator op) {
        ResizeBilinearOptions o = optionalOptions(op, BuiltinOptions.ResizeBilinearOptions, new ResizeBilinearOptions());
        Value x = value(op.inputs(0));
        int[] size = m.ints(op.inputs(1));
        if (size.length != 2 || size[0] < 1 || size[1] < 1 || size[0] > ModelChecks.MAX_SIDE
                || size[1] > ModelChecks.MAX_SIDE) {
            throw new DfqException(m.file() + ": RESIZE_BILINEAR size " + m.describe(op.inputs(1)) + " is not [h, w]"
                    + " with sides from 1 to " + ModelChecks.MAX_SIDE);
        }
        int out = op.outputs(0);
        boolean align = o != null && o.alignCorners();
        boolean halfPixel = o != null && o.halfPixelCenters();
        long[] in = x.shape();
        if (in.length != 4) {
            throw new DfqException(m.file() + ": RESIZE_BILINEAR input " + m.describe(op.inputs(0)) + " is not 4-D");
        }
        String big = ModelChecks.tensorProblem(in[3], size[0], size[1]);
        if (big != null) {
            throw new DfqException(m.file() + ": RESIZE_BILINEAR of " + m.describe(op.inputs(0)) + " makes a tensor of " + big);
        }
        define(out, b.resizeBilinear(tensorName(out), nchw(x), in[3], (int) in[1], (int) in[2], size[0], size[1], align,
                halfPixel), true);
    }

    private void unary(Operator op, BiFunction<String, SDVariable, SDVariable> fn) {
        Value x = value(op.inputs(0));
        int out = op.outputs(0);
        define(out, fn.apply(tensorName(out), x.var()), x.nchw());
    }

    /** QUANTIZE / DEQUANTIZE: the identity on real values; on a constant it yields the dequantized constant. */
    private void identity(Operator op) {
        int in = op.inputs(0);
        int out = op.outputs(0);
        if (isConstant(in)) {
            foldedConstants.put(out, constant(in));
            return;
        }
        Value v = value(in);
        values.put(out, v);
        recordRange(out, v.var());
    }

    private void custom(int i, Operator op) {
        if (!DetectionPostProcess.OP_NAME.equals(m.opName(i)) || op.inputsLength() < 3) {
            throw unsupported(i);
        }
        ByteBuffer opts = op.customOptionsAsByteBuffer();
        if (opts != null) {
            properties.putAll(DetectionPostProcess.options(opts));
        }
        INDArray anchors = constant(op.inputs(2));
        if (anchors.rank() != 2 || anchors.size(1) != 4) {
            throw new DfqException(m.file() + ": detection anchors " + m.describe(op.inputs(2)) + " are not [numAnchors, 4]");
        }
        attachments.put(DetectionPostProcess.ANCHORS, anchors);
        int[] heads = {op.inputs(0), op.inputs(1)};
        for (int k = 0; k < op.outputsLength(); k++) {
            postProcessed.put(op.outputs(k), heads);
        }
    }

    // ---- helpers ----

    /**
     * Emits a layer whose output is tensor {@code out}: without activation the layer's variable is the
     * tensor; with one, the layer is "<tensor>/<kind>" and a relu/relu6 op produces the tensor.
     */
    private SDVariable layer(int out, Activation act, String kind, Function<String, SDVariable> emit) {
        String base = VariableNames.sanitize(m.name(out), out);
        if (act == Activation.NONE) {
            return emit.apply(names.uniqueLayer(base));
        }
        String outName = names.unique(base);
        SDVariable pre = emit.apply(names.uniqueLayer(base + "/" + kind));
        return act == Activation.RELU ? b.relu(outName, pre) : b.relu6(outName, pre);
    }

    /**
     * The activation to emit after a layer. Besides the fused one, a quantized weight layer whose output
     * range starts exactly at 0 (zero point = qmin) is clamped at 0 by the integer kernel: the
     * converter dropped a ReLU/ReLU6 it made redundant (old TOCO files, e.g. the SSD model), and it
     * is restored here, as ReLU6 when the range ends within one step of 6.
     */
    private Activation activation(byte fused, int out, boolean weightLayer) {
        switch (fused) {
            case ActivationFunctionType.RELU:
                return Activation.RELU;
            case ActivationFunctionType.RELU6:
                return Activation.RELU6;
            case ActivationFunctionType.NONE:
                break;
            default:
                throw new DfqException(m.file() + ": unsupported fused activation "
                        + (fused >= 0 && fused < ActivationFunctionType.names.length ? ActivationFunctionType.name(fused) : fused)
                        + " on " + m.describe(out) + "; supported: NONE, RELU, RELU6");
        }
        long[] limits = Quantization.integerLimits(m.type(out));
        Quantization q = m.quantization(out).orElse(null);
        if (!weightLayer || limits == null || q == null || !q.perTensor() || q.zeroPoint(0) != limits[0]) {
            return Activation.NONE;
        }
        double max = (limits[1] - limits[0]) * q.scale(0);
        return Math.abs(max - 6.0) <= q.scale(0) ? Activation.RELU6 : Activation.RELU;
    }

    /**
     * The sliding window of operator i over the NHWC input x: strides and dilations at least 1, the
     * window no larger than the padded input, no window in padding only (checked before any graph is built).
     */
    private void checkWindow(int i, Value x, long kH, long kW, int sH, int sW, int dH, int dW, Padding pad) {
        if (x.rank() != 4) {
            throw new DfqException(m.file() + ": operator #" + i + " (" + m.opName(i) + ") needs a 4-D input, got "
                    + Arrays.toString(x.shape()));
        }
        String bad = ModelChecks.windowProblem(x.shape()[1], x.shape()[2], kH, kW, sH, sW, dH, dW, pad);
        if (bad != null) {
            throw new DfqException(m.file() + ": operator #" + i + " (" + m.opName(i) + ") has a bad window: " + bad
                    + " (stride " + sH + "x" + sW + ", dilation " + dH + "x" + dW + ")");
        }
    }

    private Padding padding(int i, byte p) {
        return switch (p) {
            case org.tensorflow.lite.schema.Padding.SAME -> Padding.SAME;
            case org.tensorflow.lite.schema.Padding.VALID -> Padding.VALID;
            default -> throw new DfqException(m.file() + ": operator #" + i + " has unknown padding " + p);
        };
    }

    private <T extends Table> T options(int i, Operator op, byte expected, T table) {
        if (op.builtinOptionsType() != expected || op.builtinOptions(table) == null) {
            throw new DfqException(m.file() + ": operator #" + i + " (" + m.opName(i) + ") lacks its "
                    + BuiltinOptions.name(expected));
        }
        return table;
    }

    /** The op's options of the expected type, or null when it has none (all fields at their defaults). */
    private static <T extends Table> T optionalOptions(Operator op, byte expected, T table) {
        return op.builtinOptionsType() == expected && op.builtinOptions(table) != null ? table : null;
    }

    private static int[] normalizedAxes(int[] axes, int rank) {
        int[] out = new int[axes.length];
        for (int k = 0; k < axes.length; k++) {
            int a = axes[k] < 0 ? axes[k] + rank : axes[k];
            if (a < 0 || a >= rank) {
                throw new IllegalArgumentException("axis " + axes[k] + " out of range for rank " + rank);
            }
            out[k] = a;
        }
        return out;
    }

    private boolean isConstant(int t) {
        return foldedConstants.containsKey(t) || m.hasData(t);
    }

    private INDArray constant(int t) {
        INDArray folded = foldedConstants.get(t);
        return folded != null ? folded : m.constant(t);
    }

    /** The variable holding tensor t; a constant tensor becomes a graph constant on first use. */
    private Value value(int t) {
        Value v = values.get(t);
        if (v != null) {
            return v;
        }
        if (!isConstant(t)) {
            throw new DfqException(m.file() + ": tensor " + m.describe(t)
                    + " is used before any operator computes it (the model is not a single feed-forward graph)");
        }
        v = new Value(b.constant(tensorName(t), constant(t)), m.shape(t), false);
        values.put(t, v);
        return v;
    }

    private String tensorName(int t) {
        return names.unique(VariableNames.sanitize(m.name(t), t));
    }

    private void define(int t, SDVariable var, boolean nchw) {
        values.put(t, new Value(var, m.shape(t), nchw));
        recordRange(t, var);
    }

    /** Keeps the range a quantized activation tensor records, under the variable that holds it. */
    private void recordRange(int t, SDVariable var) {
        m.quantization(t).flatMap(q -> q.range(m.type(t))).ifPresent(r -> ranges.putIfAbsent(var.name(), r));
    }

    /** True when NHWC and NCHW order the elements of this NHWC shape identically. */
    private static boolean sameMemoryOrder(long[] nhwc) {
        return nhwc[1] * nhwc[2] == 1 || nhwc[3] == 1;
    }

    /** A variable whose elements are in TFLite's memory order (for reshapes and flattening). */
    private SDVariable inTfliteOrder(Value v) {
        return !v.nchw() || sameMemoryOrder(v.shape()) ? v.var() : nhwc(v);
    }

    /** The value held NCHW (it must be 4-D). */
    private SDVariable nchw(Value v) {
        if (v.nchw()) {
            return v.var();
        }
        if (v.rank() != 4) {
            throw new IllegalArgumentException("an image op needs a 4-D input, got shape " + Arrays.toString(v.shape()));
        }
        long[] s = v.shape();
        return conversions.computeIfAbsent(v.var().name() + "@nchw", k -> sameMemoryOrder(s)
                ? b.reshape(names.unique(v.var().name() + "/nchw"), v.var(), -1, s[3], s[1], s[2])
                : b.permute(names.unique(v.var().name() + "/nchw"), v.var(), 0, 3, 1, 2));
    }

    /** The value held in TFLite's own layout. */
    private SDVariable nhwc(Value v) {
        if (!v.nchw()) {
            return v.var();
        }
        long[] s = v.shape();
        return conversions.computeIfAbsent(v.var().name() + "@nhwc", k -> sameMemoryOrder(s)
                ? b.reshape(names.unique(v.var().name() + "/nhwc"), v.var(), -1, s[1], s[2], s[3])
                : b.permute(names.unique(v.var().name() + "/nhwc"), v.var(), 0, 2, 3, 1));
    }
}
