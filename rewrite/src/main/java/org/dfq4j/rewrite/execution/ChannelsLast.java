package org.dfq4j.rewrite.execution;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.EnumSet;
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
import org.dfq4j.rewrite.graph.OpAttributes;
import org.dfq4j.rewrite.graph.OpKind;
import org.dfq4j.rewrite.view.GraphView;
import org.nd4j.autodiff.samediff.SDVariable;
import org.nd4j.autodiff.samediff.SameDiff;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.api.ops.impl.layers.convolution.AvgPooling2D;
import org.nd4j.linalg.api.ops.impl.layers.convolution.BatchNorm;
import org.nd4j.linalg.api.ops.impl.layers.convolution.Conv2D;
import org.nd4j.linalg.api.ops.impl.layers.convolution.DepthwiseConv2D;
import org.nd4j.linalg.api.ops.impl.layers.convolution.MaxPooling2D;
import org.nd4j.linalg.api.ops.impl.layers.convolution.config.Conv2DConfig;
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

    /** Custom ops that act elementwise on their first input (any further inputs are scalars). */
    private static final Set<OpKind> ELEMENTWISE = EnumSet.of(OpKind.CLIP_BY_VALUE, OpKind.IDENTITY, OpKind.FAKE_QUANT);
    /** Broadcasting binary ops, and how to build each. */
    private static final Map<OpKind, BinaryOperator<SDVariable>> BINARY = Map.of(
            OpKind.ADD, SDVariable::add,
            OpKind.SUBTRACT, SDVariable::sub,
            OpKind.MULTIPLY, SDVariable::mul,
            OpKind.DIVIDE, SDVariable::div,
            OpKind.MINIMUM, (a, b) -> a.getSameDiff().math().min(a, b),
            OpKind.MAXIMUM, (a, b) -> a.getSameDiff().math().max(a, b));

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
        GraphEditor editor = new GraphEditor(net);
        Plan plan = new Plan(editor.view());
        if (plan.converted.isEmpty()) {
            return new Converted(net.copy(), 0, 0, List.of());
        }
        plan.apply(editor);
        GraphView after = editor.view();
        if (!after.isWellFormed()) {
            throw new IllegalStateException("channels-last conversion left a malformed graph: " + after.problems());
        }
        Network converted = editor.network().withProperties(Map.of(Network.LAYOUT_PROPERTY, Network.CHANNELS_LAST));
        return new Converted(converted.executedLike(net), plan.converted.size(), plan.permutes,
                List.copyOf(plan.boundaries));
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
            OpKind type = g.kind(op);
            List<String> in = g.inputs(op);
            OpAttributes a = g.attributes(op);
            boolean single = g.outputs(op).size() == 1;
            String x = in.isEmpty() ? null : in.get(0);
            boolean xLast = x != null && channelsLast.contains(x);
            if (!single || x == null) {
                boundary(op);
                return;
            }
            String y = g.output(op);
            switch (type) {
                case CONV2D, DEPTHWISE_CONV2D -> {
                    Conv2DConfig c = a.convolution().orElse(null);
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
                    Pooling2DConfig c = a.pooling().orElse(null);
                    if (c == null || c.isNHWC()) {
                        boundary(op);
                    } else {
                        spatial(op, x, y, xLast);
                    }
                }
                case BATCH_NORM -> {
                    if (xLast && in.size() == 5 && channelAxisBatchNorm(a)
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
                    } else if (elementwise(a, in)) {
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
            int[] dims = g.attributes(op).reductionAxes().orElse(null);
            if (dims == null || dims.length == 0) {
                boundary(op);
                return;
            }
            Set<Integer> reduced = new HashSet<>();
            for (int d : dims) {
                reduced.add(d < 0 ? d + 4 : d);
            }
            if (g.attributes(op).keepDims()) {
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
            long[] perm = g.attributes(op).integerArguments();
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

        /** A BatchNorm over axis 1 with gamma and beta. */
        private static boolean channelAxisBatchNorm(OpAttributes a) {
            return a.batchNorm().filter(c -> c.applyGamma() && c.applyBeta() && Arrays.equals(c.axes(), new long[] {1}))
                    .isPresent();
        }

        private static boolean elementwise(OpAttributes a, List<String> in) {
            if (a.isElementwiseTransform()) {
                return in.size() == 1;
            }
            return ELEMENTWISE.contains(a.kind());
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
            GraphView now = editor.view();
            OpAttributes a = now.attributes(op);
            List<String> in = now.inputs(op);
            SDVariable[] v = in.stream().map(sd::getVariable).toArray(SDVariable[]::new);
            OpKind type = a.kind();
            editor.replaceOp(op, ignored -> switch (type) {
                case CONV2D -> new Conv2D(sd, v, nhwc(a.convolution().orElseThrow())).outputVariable();
                case DEPTHWISE_CONV2D -> new DepthwiseConv2D(sd, v, nhwc(a.convolution().orElseThrow())).outputVariable();
                case AVG_POOL -> new AvgPooling2D(sd, v[0], nhwc(a.pooling().orElseThrow())).outputVariable();
                case MAX_POOL -> new MaxPooling2D(sd, v[0], nhwc(a.pooling().orElseThrow())).outputVariable();
                case BATCH_NORM -> new BatchNorm(sd, v[0], v[1], v[2], v[3], v[4],
                        a.batchNorm().orElseThrow().epsilon(), new int[] {3}).outputVariable();
                case PAD -> {
                    INDArray p = now.constant(in.get(1));
                    INDArray rows = p.dup();
                    for (int i = 0; i < 4; i++) {
                        rows.putRow(AXIS_TO_NHWC[i], p.getRow(i));
                    }
                    yield new Pad(sd, v[0], sd.getVariable(editor.addConstant(in.get(1) + "/nhwc", rows)),
                            a.padMode().orElseThrow(), a.padValue()).outputVariable();
                }
                case CONCAT -> sd.concat(AXIS_TO_NHWC[(int) (a.concatAxis() < 0 ? a.concatAxis() + 4 : a.concatAxis())], v);
                case MEAN -> sd.mean(v[0], a.keepDims(), nhwcAxes(a.reductionAxes().orElseThrow()));
                default -> {
                    SDVariable[] args = new SDVariable[v.length];
                    for (int i = 0; i < v.length; i++) {
                        args[i] = now.isConstant(in.get(i))
                                ? sd.getVariable(nhwcConstant(editor, now, in.get(i), nhwcConstants)) : v[i];
                    }
                    yield BINARY.get(type).apply(args[0], args[1]);
                }
            });
        }

        /** A broadcast constant's channels-last form: padded to rank 4 with leading ones, then permuted. */
        private static String nhwcConstant(GraphEditor editor, GraphView g, String c, Map<String, String> made) {
            INDArray a = g.constant(c);
            if (a.length() == 1) {
                return c;
            }
            return made.computeIfAbsent(c, k -> {
                long[] s = new long[] {1, 1, 1, 1};
                System.arraycopy(a.shape(), 0, s, 4 - a.rank(), a.rank());
                return editor.addConstant(c + "/nhwc", a.reshape(s).permute(TO_NHWC).dup('c'));
            });
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

    private static Conv2DConfig nhwc(Conv2DConfig c) {
        return Conv2DConfig.builder().kH(c.getKH()).kW(c.getKW()).sH(c.getSH()).sW(c.getSW()).pH(c.getPH())
                .pW(c.getPW()).dH(c.getDH()).dW(c.getDW()).paddingMode(c.getPaddingMode())
                .dataFormat(Conv2DConfig.NHWC).weightsFormat(c.getWeightsFormat()).build();
    }

    private static Pooling2DConfig nhwc(Pooling2DConfig c) {
        return Pooling2DConfig.builder().kH(c.getKH()).kW(c.getKW()).sH(c.getSH()).sW(c.getSW()).pH(c.getPH())
                .pW(c.getPW()).dH(c.getDH()).dW(c.getDW()).paddingMode(c.getPaddingMode()).type(c.getType())
                .divisor(c.getDivisor()).extra(c.getExtra()).isNHWC(true).build();
    }
}
