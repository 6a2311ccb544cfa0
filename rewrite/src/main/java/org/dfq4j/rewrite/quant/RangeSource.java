package org.dfq4j.rewrite.quant;

import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import org.dfq4j.rewrite.DfqException;
import org.dfq4j.rewrite.graph.Network;
import org.dfq4j.rewrite.graph.TensorRange;
import org.dfq4j.rewrite.graph.WeightLayer;
import org.dfq4j.rewrite.view.GraphView;
import org.nd4j.linalg.api.ndarray.INDArray;

/**
 * Where activation ranges come from (METHOD.md section 7). Each source is named, and the name and
 * every per-tensor range go into the log; a tensor a source cannot give a range for is reported
 * with the reason, never silently filled from another source.
 *
 * <ul>
 *   <li>{@code bn}: data-free, mean +- n sigma of the BatchNorm statistics, clipped by the activation;
 *       the network input's range is the one preprocessing fixes;
 *   <li>{@code model}: the ranges recorded in the model file ({@link Network#recordedRanges()});
 *   <li>{@code calib:N}: min/max of each tensor over N calibration images run through the float network;
 *   <li>{@code none}: no activation quantization (weights only).
 * </ul>
 */
public sealed interface RangeSource permits RangeSource.BatchNorm, RangeSource.Recorded, CalibratedRanges,
        RangeSource.None {

    /** The source's name as a user gives it: "bn", "model", "calib:N" or "none". */
    String name();

    /** A range (or the reason there is none) for each point. */
    List<PointRange> ranges(GraphView g, List<QuantizationPoint> points);

    /**
     * The range of one quantization point.
     *
     * @param range null when the source has none for this tensor
     * @param note  how the range was obtained, or why there is none
     */
    record PointRange(QuantizationPoint point, TensorRange range, String note) {
        public boolean known() {
            return range != null;
        }
    }

    /** Data-free ranges from BatchNorm statistics: n sigma around the mean; the input range from preprocessing. */
    static RangeSource batchNorm(double sigmas, TensorRange inputRange) {
        return new BatchNorm(sigmas, inputRange);
    }

    /** Ranges recorded in the model file. */
    static RangeSource recorded() {
        return new Recorded();
    }

    /** Min/max over the images of the given batches [N,C,H,W]. */
    static RangeSource calibration(List<INDArray> batches) {
        return new CalibratedRanges(batches);
    }

    /** No activation quantization. */
    static RangeSource none() {
        return new None();
    }

    /**
     * A source by name: "bn", "model", "calib:N" (the first N images of {@code images}) or "none".
     *
     * @param sigmas     n for "bn"
     * @param inputRange the input range preprocessing fixes, for "bn"
     * @param images     calibration batches for "calib:N" (may be empty otherwise)
     */
    static RangeSource parse(String spec, double sigmas, TensorRange inputRange, List<INDArray> images) {
        String s = spec.trim().toLowerCase(java.util.Locale.ROOT);
        if (s.equals("bn")) {
            return batchNorm(sigmas, inputRange);
        }
        if (s.equals("model")) {
            return recorded();
        }
        if (s.equals("none")) {
            return none();
        }
        if (s.startsWith("calib:")) {
            int n;
            try {
                n = Integer.parseInt(s.substring("calib:".length()));
            } catch (NumberFormatException e) {
                throw new DfqException("activation range source '" + spec + "': N must be a whole number, e.g. calib:32");
            }
            return calibration(CalibratedRanges.firstImages(images, n, spec));
        }
        throw new DfqException("unknown activation range source '" + spec + "'; use bn, model, calib:N or none");
    }

    /** mean +- n sigma of the propagated BatchNorm statistics, clipped per channel by the activation. */
    record BatchNorm(double sigmas, TensorRange inputRange) implements RangeSource {

        private static final Set<String> RANGE_PRESERVING =
                Set.of("reshape", "permute", "identity", "pad", "maxpool2d", "avgpool2d");

        public BatchNorm {
            if (!(sigmas > 0) || Double.isInfinite(sigmas)) {
                throw new DfqException("activation range 'bn': the number of standard deviations must be > 0, got "
                        + sigmas);
            }
            if (inputRange == null) {
                throw new DfqException("activation range 'bn' needs the network input's range fixed by preprocessing "
                        + "(e.g. [-1, 1] for x/127.5-1); give it, or use model, calib:N or none");
            }
        }

        @Override
        public String name() {
            return "bn";
        }

        @Override
        public List<PointRange> ranges(GraphView g, List<QuantizationPoint> points) {
            requireStatistics(g);
            ChannelDistributions d = ChannelDistributions.propagate(g);
            List<PointRange> out = new ArrayList<>();
            for (QuantizationPoint p : points) {
                TensorRange r = rangeOf(g, d, p.tensor());
                String note = g.isPlaceholder(p.anchor()) ? "input range fixed by preprocessing"
                        : r == null ? "no BatchNorm statistics reach it: " + whyNot(g, d, p.tensor())
                        : "mean +- " + sigmas + " sigma of BatchNorm statistics";
                out.add(new PointRange(p, r, note));
            }
            return out;
        }

        /**
         * The range of a tensor: the input range for the input; leakyrelu maps its input's range by the
         * endpoints and concat (on any axis) is the union of its inputs' ranges (their propagated
         * distributions would be wider); otherwise n sigma of the propagated distribution, clipped per
         * channel; reshapes, pads and pools without a modelled distribution keep their input's range.
         * Null when the statistics do not reach the tensor.
         */
        private TensorRange rangeOf(GraphView g, ChannelDistributions d, String t) {
            if (g.isPlaceholder(t)) {
                return inputRange;
            }
            String op = g.producer(t);
            String type = op == null ? "" : g.opType(op);
            if (type.equals("leakyrelu")) {
                TensorRange in = rangeOf(g, d, g.inputs(op).get(0));
                return in == null ? null : QuantizationPoint.through(g, List.of(op), in);
            }
            if (type.equals("concat")) {
                TensorRange u = null;
                for (String in : g.inputs(op)) {
                    TensorRange r = rangeOf(g, d, in);
                    if (r == null) {
                        return null;
                    }
                    u = u == null ? r : u.union(r);
                }
                return u;
            }
            if (d.of(t).isPresent()) {
                return d.of(t).get().range(sigmas);
            }
            if (RANGE_PRESERVING.contains(type)) { // values are a subset of the input's (plus zeros for pad)
                TensorRange in = rangeOf(g, d, g.inputs(op).get(0));
                return in == null || !type.equals("pad") ? in : in.union(new TensorRange(0, 0));
            }
            return null;
        }

        private static String whyNot(GraphView g, ChannelDistributions d, String t) {
            String op = g.producer(t);
            if (op != null && g.opType(op).equals("leakyrelu")) {
                return d.whyUnknown(g.inputs(op).get(0));
            }
            return d.whyUnknown(t);
        }

        private static void requireStatistics(GraphView g) {
            boolean any = g.weightLayers().stream().map(WeightLayer::output)
                    .anyMatch(g.network().stats()::containsKey)
                    || g.ops().stream().anyMatch(op -> g.opType(op).equals("batchnorm"));
            if (!any) {
                throw new DfqException("activation range source 'bn' needs BatchNorm statistics, but network '"
                        + g.network().name() + "' has none (BatchNorm folded in the model file); use model "
                        + "(ranges recorded in the file), calib:N (N calibration images) or none (weights only)");
            }
        }
    }

    /**
     * The ranges a model file records. A point whose fused activation output has no range but whose
     * anchor has one gets the anchor's range mapped through the activation (TFLite records one range
     * for a conv with a fused ReLU6 on whichever tensor the reader kept).
     */
    record Recorded() implements RangeSource {

        @Override
        public String name() {
            return "model";
        }

        @Override
        public List<PointRange> ranges(GraphView g, List<QuantizationPoint> points) {
            Network net = g.network();
            if (net.recordedRanges().isEmpty()) {
                throw new DfqException("activation range source 'model': network '" + net.name()
                        + "' records no activation ranges (a float model file); use bn, calib:N or none");
            }
            List<PointRange> out = new ArrayList<>();
            for (QuantizationPoint p : points) {
                TensorRange r = net.recordedRanges().get(p.tensor());
                if (r != null) {
                    out.add(new PointRange(p, r, "recorded in the model"));
                } else if ((r = net.recordedRanges().get(p.anchor())) != null) {
                    out.add(new PointRange(p, QuantizationPoint.through(g, p.activations(), r),
                            "recorded for '" + p.anchor() + "', mapped through " + p.activations()));
                } else {
                    out.add(new PointRange(p, null, "no range recorded in the model for '" + p.tensor() + "'"));
                }
            }
            return out;
        }
    }

    /** No activation ranges: weights-only quantization. */
    record None() implements RangeSource {
        @Override
        public String name() {
            return "none";
        }

        @Override
        public List<PointRange> ranges(GraphView g, List<QuantizationPoint> points) {
            return points.stream().map(p -> new PointRange(p, null, "activation quantization off")).toList();
        }
    }
}
