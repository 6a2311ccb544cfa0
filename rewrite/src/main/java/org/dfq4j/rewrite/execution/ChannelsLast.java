package org.dfq4j.rewrite.execution;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.function.BinaryOperator;
import org.dfq4j.rewrite.engine.GraphEditor;
import org.dfq4j.rewrite.graph.Network;
import org.dfq4j.rewrite.view.GraphView;
import org.nd4j.autodiff.functions.DifferentialFunction;
import org.nd4j.autodiff.samediff.SDVariable;
import org.nd4j.autodiff.samediff.SameDiff;
import org.nd4j.autodiff.samediff.VariableType;
import org.nd4j.enums.WeightsFormat;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.api.ops.BaseScalarOp;
import org.nd4j.linalg.api.ops.BaseTransformOp;
import org.nd4j.linalg.api.ops.DynamicCustomOp;
import org.nd4j.linalg.api.ops.impl.layers.convolution.AvgPooling2D;
import org.nd4j.linalg.api.ops.impl.layers.convolution.BatchNorm;
import org.nd4j.linalg.api.ops.impl.layers.convolution.Conv2D;
import org.nd4j.linalg.api.ops.impl.layers.convolution.DepthwiseConv2D;
import org.nd4j.linalg.api.ops.impl.layers.convolution.MaxPooling2D;
import org.nd4j.linalg.api.ops.impl.layers.convolution.config.Conv2DConfig;
import org.nd4j.linalg.api.ops.impl.layers.convolution.config.PaddingMode;
import org.nd4j.linalg.api.ops.impl.layers.convolution.config.Pooling2DConfig;
import org.nd4j.linalg.api.ops.impl.transforms.Pad;

/**
 * Runs a network's image tensors channels-last (NHWC) instead of NCHW: the same graph ops with their
 * channels-last settings, no permutes between them.
 *
 * <p>Why: ND4J's oneDNN convolution helpers let oneDNN choose the activation layout, and on this
 * CPU it chooses NHWC for every convolution (brgconv 1x1, jit depthwise). With NCHW tensors each
 * convolution reorders its input to NHWC and its output back, into freshly allocated buffers: on
 * MobileNetV2 at batch 32 those reorders took about four fifths of a forward pass. With NHWC tensors
 * the layouts match and oneDNN reads and writes the tensors in place.
 *
 * <p>Identity: for v = permute(t, 0,2,3,1) (the channels-last form of an NCHW tensor t),
 * conv_NHWC(v) = permute(conv_NCHW(t)), likewise pooling, BatchNorm on axis 3, padding with its rows
 * reordered and concatenation on the mapped axis; elementwise ops commute with the permutation, a
 * broadcast constant is permuted with the tensor, a spatial mean reduces the mapped axes, and
 * permute(v, 0,2,3,1) of a channels-last tensor is the tensor itself. So every network output is
 * what the NCHW network computes, to float rounding (oneDNN runs the same kernels on the same NHWC
 * data either way; measured: identical logits on MobileNetV2).
 *
 * <p>The input placeholder stays NCHW ([N,C,H,W], as {@link Network} promises) and is permuted once
 * before its first convolution; an op this class does not know reads its tensors in NCHW again (a
 * permute back), and image-shaped network outputs are permuted back. Intermediate variables of the
 * result hold channels-last data: the result is for running (and saving, as a graph it stays), not
 * for the DFQ rewrites, which read channels on axis 1 and refuse it ({@link Network#requireNchw}).
 */
public final class ChannelsLast {

    /** NCHW axis -> axis of the channels-last (NHWC) tensor. */
    private static final int[] AXIS_TO_NHWC = {0, 3, 1, 2};
    private static final int[] TO_NHWC = {0, 2, 3, 1};
    private static final int[] TO_NCHW = {0, 3, 1, 2};

    private static final String CONV = "conv2d";
    private static final String DEPTHWISE = "depthwise_conv2d";
    private static final String AVG_POOL = "avgpool2d";
    private static final String MAX_POOL = "maxpool2d";
    private static final String BATCH_NORM = "batchnorm";
    private static final String PAD = "pad";
    private static final String CONCAT = "concat";
    private static final String MEAN = "reduce_mean";
    private static final String RESHAPE = "reshape";
    private static final String PERMUTE = "permute";
    private static final String FAKE_QUANT = "fake_quant_with_min_max_vars";
    /** Custom ops that act elementwise on their first input (any further inputs are scalars). */
    private static final Set<String> ELEMENTWISE = Set.of("ClipByValue", "identity", FAKE_QUANT);
    /** Broadcasting binary ops, and how to build each. */
    private static final Map<String, BinaryOperator<SDVariable>> BINARY = Map.of(
            "add", SDVariable::add,
            "subtract", SDVariable::sub,
            "multiply", SDVariable::mul,
            "divide", SDVariable::div,
            "minimum", (a, b) -> a.getSameDiff().math().min(a, b),
            "maximum", (a, b) -> a.getSameDiff().math().max(a, b));

    /**
     * A converted copy: the number of ops that now run channels-last, the permutes inserted (the
     * input's, and one before each op that needs NCHW again) and the ops that needed NCHW again.
     */
    public record Converted(Network network, int convertedOps, int permutes, List<String> boundaries) {

        /** One line for reports. */
        public String describe() {
            return "channels-last: " + convertedOps + " ops, " + permutes + " permute" + (permutes == 1 ? "" : "s")
                    + (boundaries.isEmpty() ? "" : ", NCHW again at " + boundaries);
        }
    }

    private ChannelsLast() {
    }

    /**
     * A channels-last copy of {@code net} (the network itself is not changed). A network with no
     * convolution or pooling is returned as an unchanged copy.
     */
    public static Converted of(Network net) {
        if (net.isChannelsLast()) {
            return new Converted(net.copy(), 0, 0, List.of());
        }
        Network copy = net.copy();
        GraphEditor editor = new GraphEditor(copy);
        Plan plan = new Plan(editor.view());
        if (plan.converted.isEmpty()) {
            return new Converted(copy, 0, 0, List.of());
        }
        plan.apply(editor);
        copy.properties().put(Network.LAYOUT_PROPERTY, Network.CHANNELS_LAST);
        GraphView after = editor.view();
        if (!after.isWellFormed()) {
            throw new IllegalStateException("channels-last conversion left a malformed graph: " + after.problems());
        }
        return new Converted(copy, plan.converted.size(), plan.permutes, List.copyOf(plan.boundaries));
    }

    /** What to do to each op, decided on the unchanged graph, then applied through the editor. */
    private static final class Plan {
        private final GraphView g;
        /** Variables that will hold channels-last data. */
        private final Set<String> channelsLast = new HashSet<>();
        /** Channels-last variables whose spatial size is 1x1 (a kept-dims spatial mean and what follows it). */
        private final Set<String> unitSpatial = new HashSet<>();
        /** Ops rebuilt in their channels-last form, in graph order. */
        private final List<String> converted = new ArrayList<>();
        /** Permutes that become identities (removed). */
        private final List<String> bypassed = new ArrayList<>();
        /** NCHW variable -> ops that must read its channels-last form. */
        private final Map<String, Set<String>> toNhwc = new LinkedHashMap<>();
        /** Channels-last variable -> ops that must read its NCHW form. */
        private final Map<String, Set<String>> toNchw = new LinkedHashMap<>();
        private final List<String> boundaries = new ArrayList<>();
        private int permutes;

        Plan(GraphView g) {
            this.g = g;
            for (String op : g.ops()) {
                decide(op);
            }
            for (String out : g.networkOutputs()) {
                if (channelsLast.contains(out)) {
                    toNchw.computeIfAbsent(out, k -> new LinkedHashSet<>());
                }
            }
        }

        private void decide(String op) {
            String type = g.opType(op);
            List<String> in = g.inputs(op);
            DifferentialFunction fn = g.sameDiffOp(op).getOp();
            boolean single = g.outputs(op).size() == 1;
            String x = in.isEmpty() ? null : in.get(0);
            boolean xLast = x != null && channelsLast.contains(x);
            if (!single || x == null) {
                boundary(op);
                return;
            }
            String y = g.output(op);
            switch (type) {
                case CONV, DEPTHWISE -> {
                    Conv2DConfig c = convConfig(fn);
                    if (c == null || c.isNHWC()) {
                        boundary(op);
                    } else {
                        spatial(op, x, y, xLast);
                        if (unitSpatial.contains(x) && c.getKH() == 1 && c.getKW() == 1 && c.getPH() == 0
                                && c.getPW() == 0) {
                            unitSpatial.add(y);
                        }
                    }
                }
                case AVG_POOL, MAX_POOL -> {
                    Pooling2DConfig c = poolConfig(fn);
                    if (c == null || c.isNHWC()) {
                        boundary(op);
                    } else {
                        spatial(op, x, y, xLast);
                    }
                }
                case BATCH_NORM -> {
                    if (xLast && in.size() == 5 && channelAxisBatchNorm((BatchNorm) fn)
                            && in.subList(1, 5).stream().noneMatch(channelsLast::contains)) {
                        convert(op, y);
                    } else {
                        keepOrBoundary(op, xLast);
                    }
                }
                case PAD -> {
                    if (xLast && in.size() == 2 && g.isConstant(in.get(1)) && g.constant(in.get(1)).rank() == 2
                            && g.constant(in.get(1)).size(0) == 4) {
                        convert(op, y);
                    } else {
                        keepOrBoundary(op, xLast);
                    }
                }
                case CONCAT -> concat(op, in, y);
                case MEAN -> mean(op, x, y, xLast);
                case RESHAPE -> {
                    // [N,1,1,C] and [N,C,1,1] hold the same values in the same order
                    if (xLast && !unitSpatial.contains(x)) {
                        boundary(op);
                    }
                }
                case PERMUTE -> permute(op, x, y, xLast);
                default -> {
                    if (BINARY.containsKey(type)) {
                        binary(op, in, y);
                    } else if (elementwise(fn, type, in)) {
                        if (xLast) {
                            channelsLast.add(y);
                            if (unitSpatial.contains(x)) {
                                unitSpatial.add(y);
                            }
                        }
                    } else {
                        keepOrBoundary(op, xLast || in.stream().anyMatch(channelsLast::contains));
                    }
                }
            }
        }

        /** A convolution or pooling: reads the channels-last form of its input (made here if need be). */
        private void spatial(String op, String x, String y, boolean xLast) {
            if (!xLast) {
                toNhwc.computeIfAbsent(x, k -> new LinkedHashSet<>()).add(op);
            }
            convert(op, y);
        }

        private void convert(String op, String y) {
            converted.add(op);
            channelsLast.add(y);
        }

        private void keepOrBoundary(String op, boolean readsChannelsLast) {
            if (readsChannelsLast) {
                boundary(op);
            }
        }

        /** An op this class cannot run channels-last: its channels-last inputs are permuted back to NCHW. */
        private void boundary(String op) {
            boolean any = false;
            for (String v : g.inputs(op)) {
                if (channelsLast.contains(v)) {
                    toNchw.computeIfAbsent(v, k -> new LinkedHashSet<>()).add(op);
                    any = true;
                }
            }
            if (any) {
                boundaries.add(op + " (" + g.opType(op) + ")");
            }
        }

        private void binary(String op, List<String> in, String y) {
            List<String> data = in.stream().filter(v -> !g.isConstant(v)).toList();
            long last = data.stream().filter(channelsLast::contains).count();
            if (last == 0) {
                return;
            }
            boolean constantsFit = in.stream().filter(g::isConstant).allMatch(c -> g.constant(c).rank() <= 4);
            if (last < data.size() || !constantsFit) {
                boundary(op);
                return;
            }
            convert(op, y);
            if (data.stream().allMatch(unitSpatial::contains)) {
                unitSpatial.add(y);
            }
        }

        private void concat(String op, List<String> in, String y) {
            long last = in.stream().filter(channelsLast::contains).count();
            if (last == 0) {
                return;
            }
            if (last < in.size()) {
                boundary(op);
                return;
            }
            convert(op, y);
        }

        private void mean(String op, String x, String y, boolean xLast) {
            if (!xLast) {
                return;
            }
            int[] dims = g.sameDiffOp(op).getOp().getDimensions();
            if (dims == null || dims.length == 0) {
                boundary(op);
                return;
            }
            Set<Integer> reduced = new HashSet<>();
            for (int d : dims) {
                reduced.add(d < 0 ? d + 4 : d);
            }
            if (keepDims(op)) {
                convert(op, y);
                if (reduced.contains(2) && reduced.contains(3)) {
                    unitSpatial.add(y);
                }
                return;
            }
            // without kept dims the output is in NCHW order only if the remaining axes keep their order
            List<Integer> kept = new ArrayList<>();
            List<Integer> keptLast = new ArrayList<>();
            for (int a = 0; a < 4; a++) {
                if (!reduced.contains(a)) {
                    kept.add(a);
                }
                if (!reduced.contains(TO_NHWC[a])) {
                    keptLast.add(TO_NHWC[a]);
                }
            }
            if (kept.equals(keptLast)) {
                converted.add(op);
            } else {
                boundary(op);
            }
        }

        private void permute(String op, String x, String y, boolean xLast) {
            long[] perm = ((DynamicCustomOp) g.sameDiffOp(op).getOp()).iArgs();
            if (xLast && Arrays.equals(perm, new long[] {0, 2, 3, 1})) {
                // the NHWC form of a channels-last tensor is the tensor itself
                bypassed.add(op);
            } else if (!xLast && Arrays.equals(perm, new long[] {0, 3, 1, 2}) && !g.isConstant(x)) {
                // NCHW made from NHWC data: its channels-last form is that data
                bypassed.add(op);
                channelsLast.add(y);
            } else if (xLast) {
                boundary(op);
            }
        }

        private boolean keepDims(String op) {
            return Boolean.TRUE.equals(g.sameDiffOp(op).getOp().propertiesForFunction().get("keepDims"));
        }

        /**
         * A BatchNorm over axis 1 with gamma and beta, read from its arguments (applyGamma, applyBeta,
         * axes...), which a copied op keeps and its axis field does not.
         */
        private static boolean channelAxisBatchNorm(BatchNorm bn) {
            return Arrays.equals(bn.iArgs(), new long[] {1, 1, 1});
        }

        private static boolean elementwise(DifferentialFunction fn, String type, List<String> in) {
            if (fn instanceof BaseScalarOp || fn instanceof BaseTransformOp) {
                return in.size() == 1;
            }
            return ELEMENTWISE.contains(type);
        }

        void apply(GraphEditor editor) {
            SameDiff sd = editor.network().sameDiff();
            toNhwc.forEach((v, readers) -> {
                editor.insertAfterFor(v, readers, false, t -> sd.permute(t, TO_NHWC));
                permutes++;
            });
            Set<String> outputs = new HashSet<>(g.networkOutputs());
            toNchw.forEach((v, readers) -> {
                editor.insertAfterFor(v, readers, outputs.contains(v), t -> sd.permute(t, TO_NCHW));
                permutes++;
            });
            Map<String, String> nhwcConstants = new HashMap<>();
            for (String op : converted) {
                rebuild(editor, sd, op, nhwcConstants);
            }
            for (String op : bypassed) {
                editor.bypass(op);
            }
        }

        /** Replaces one op by its channels-last form, reading the op's current inputs. */
        private void rebuild(GraphEditor editor, SameDiff sd, String op, Map<String, String> nhwcConstants) {
            DifferentialFunction fn = sd.getOps().get(op).getOp();
            List<String> in = new ArrayList<>(sd.getOps().get(op).getInputsToOp());
            SDVariable[] v = in.stream().map(sd::getVariable).toArray(SDVariable[]::new);
            String type = fn.opName();
            editor.replaceOp(op, ignored -> switch (type) {
                case CONV -> new Conv2D(sd, v, nhwc(convConfig(fn))).outputVariable();
                case DEPTHWISE -> new DepthwiseConv2D(sd, v, nhwc(convConfig(fn))).outputVariable();
                case AVG_POOL -> new AvgPooling2D(sd, v[0], nhwc(poolConfig(fn))).outputVariable();
                case MAX_POOL -> new MaxPooling2D(sd, v[0], nhwc(poolConfig(fn))).outputVariable();
                case BATCH_NORM -> new BatchNorm(sd, v[0], v[1], v[2], v[3], v[4], ((BatchNorm) fn).getEpsilon(),
                        new int[] {3}).outputVariable();
                case PAD -> {
                    INDArray p = sd.getArrForVarName(in.get(1));
                    INDArray rows = p.dup();
                    for (int a = 0; a < 4; a++) {
                        rows.putRow(AXIS_TO_NHWC[a], p.getRow(a));
                    }
                    Map<String, Object> props = fn.propertiesForFunction();
                    yield new Pad(sd, v[0], sd.getVariable(editor.addConstant(in.get(1) + "/nhwc", rows)),
                            Pad.Mode.values()[((Number) props.get("mode")).intValue()],
                            ((Number) props.get("padValue")).doubleValue()).outputVariable();
                }
                case CONCAT -> sd.concat(AXIS_TO_NHWC[axis((DynamicCustomOp) fn)], v);
                case MEAN -> sd.mean(v[0], Boolean.TRUE.equals(fn.propertiesForFunction().get("keepDims")),
                        nhwcAxes(fn.getDimensions()));
                default -> {
                    SDVariable[] args = new SDVariable[v.length];
                    for (int i = 0; i < v.length; i++) {
                        args[i] = sd.getVariable(in.get(i)).getVariableType() == VariableType.CONSTANT
                                ? sd.getVariable(nhwcConstant(editor, sd, in.get(i), nhwcConstants)) : v[i];
                    }
                    yield BINARY.get(type).apply(args[0], args[1]);
                }
            });
        }

        /** A broadcast constant's channels-last form: padded to rank 4 with leading ones, then permuted. */
        private static String nhwcConstant(GraphEditor editor, SameDiff sd, String c, Map<String, String> made) {
            INDArray a = sd.getArrForVarName(c);
            if (a.length() == 1) {
                return c;
            }
            return made.computeIfAbsent(c, k -> {
                long[] s = new long[] {1, 1, 1, 1};
                System.arraycopy(a.shape(), 0, s, 4 - a.rank(), a.rank());
                return editor.addConstant(c + "/nhwc", a.reshape(s).permute(TO_NHWC).dup('c'));
            });
        }

        private static int axis(DynamicCustomOp concat) {
            int a = (int) concat.iArgs()[0];
            return a < 0 ? a + 4 : a;
        }

        private static int[] nhwcAxes(int[] dims) {
            int[] out = new int[dims.length];
            for (int i = 0; i < dims.length; i++) {
                out[i] = AXIS_TO_NHWC[dims[i] < 0 ? dims[i] + 4 : dims[i]];
            }
            Arrays.sort(out);
            return out;
        }
    }

    /** The op's convolution settings, read from its arguments (also for ops loaded from a file). */
    private static Conv2DConfig convConfig(DifferentialFunction fn) {
        long[] a = ((DynamicCustomOp) fn).iArgs();
        if (a.length < 10) {
            return null;
        }
        return Conv2DConfig.builder().kH(a[0]).kW(a[1]).sH(a[2]).sW(a[3]).pH(a[4]).pW(a[5]).dH(a[6]).dW(a[7])
                .paddingMode(PaddingMode.values()[(int) a[8]])
                .dataFormat(a[9] == 1 ? Conv2DConfig.NHWC : Conv2DConfig.NCHW)
                .weightsFormat(a.length > 10 ? WeightsFormat.values()[(int) a[10]] : WeightsFormat.YXIO).build();
    }

    private static Conv2DConfig nhwc(Conv2DConfig c) {
        return Conv2DConfig.builder().kH(c.getKH()).kW(c.getKW()).sH(c.getSH()).sW(c.getSW()).pH(c.getPH())
                .pW(c.getPW()).dH(c.getDH()).dW(c.getDW()).paddingMode(c.getPaddingMode())
                .dataFormat(Conv2DConfig.NHWC).weightsFormat(c.getWeightsFormat()).build();
    }

    private static Pooling2DConfig poolConfig(DifferentialFunction fn) {
        if (fn instanceof AvgPooling2D p) {
            return p.getConfig();
        }
        return fn instanceof MaxPooling2D p ? p.getConfig() : null;
    }

    private static Pooling2DConfig nhwc(Pooling2DConfig c) {
        return Pooling2DConfig.builder().kH(c.getKH()).kW(c.getKW()).sH(c.getSH()).sW(c.getSW()).pH(c.getPH())
                .pW(c.getPW()).dH(c.getDH()).dW(c.getDW()).paddingMode(c.getPaddingMode()).type(c.getType())
                .divisor(c.getDivisor()).extra(c.getExtra()).isNHWC(true).build();
    }
}
