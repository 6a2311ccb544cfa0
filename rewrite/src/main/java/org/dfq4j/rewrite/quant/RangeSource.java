package org.dfq4j.rewrite.quant;

import java.util.ArrayList;
import java.util.EnumSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import org.dfq4j.rewrite.DfqException;
import org.dfq4j.rewrite.graph.Network;
import org.dfq4j.rewrite.graph.OpKind;
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
 *
 * The interface is open: implement it to estimate ranges another way (percentiles, MSE-optimal
 * clipping) and hand it to {@link org.dfq4j.rewrite.Quantizer.Builder#rangeSource}.
 */
public interface RangeSource {

    /** The source's name for logs and reports, e.g. "bn", "model", "calib:32", "none". */
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
        return new BatchNorm(sigmas, inputRange, null);
    }

    /**
     * Data-free ranges from BatchNorm statistics: the clipping that minimises the expected squared
     * error of {@code scheme} under the per-channel clipped normals, combined per tensor
     * ({@link ClippingSearch}); the input range from preprocessing.
     */
    static RangeSource batchNormMse(QuantScheme scheme, TensorRange inputRange) {
        return new BatchNorm(RangeSpec.DEFAULT_SIGMAS, inputRange, scheme);
    }

    /** Ranges recorded in the model file. */
    static RangeSource recorded() {
        return new Recorded();
    }

    /** Min/max over the images of the given batches [N,C,H,W]. */
    static RangeSource calibration(List<INDArray> batches) {
        return new CalibratedRanges(batches);
    }

    /** MSE-optimal clipping for {@code scheme} of the values over the images of the given batches. */
    static RangeSource calibrationMse(List<INDArray> batches, QuantScheme scheme) {
        return new CalibratedRanges(batches, scheme);
    }

    /** No activation quantization. */
    static RangeSource none() {
        return None.INSTANCE;
    }

    /**
     * {@code source}, asked once: the ranges of the first call are kept by tensor name and given again
     * to later calls (a tensor not seen before is asked for then), so that two copies of a network (a
     * bias correction's quantized copy and the final network) get the same quantizers.
     */
    static RangeSource once(RangeSource source) {
        return source instanceof None || source instanceof Once ? source : new Once(source, new java.util.HashMap<>());
    }

    /** See {@link #once}. */
    record Once(RangeSource source, Map<String, PointRange> seen) implements RangeSource {

        @Override
        public String name() {
            return source.name();
        }

        @Override
        public synchronized List<PointRange> ranges(GraphView g, List<QuantizationPoint> points) {
            List<QuantizationPoint> missing = points.stream().filter(p -> !seen.containsKey(p.tensor())).toList();
            if (!missing.isEmpty()) {
                source.ranges(g, missing).forEach(r -> seen.put(r.point().tensor(), r));
            }
            return points.stream().map(p -> new PointRange(p, seen.get(p.tensor()).range(),
                    seen.get(p.tensor()).note())).toList();
        }
    }

    /**
     * mean +- n sigma of the propagated BatchNorm statistics, clipped per channel by the activation; or,
     * with an {@code mse} scheme, the MSE-optimal clipping of those distributions.
     */
    record BatchNorm(double sigmas, TensorRange inputRange, QuantScheme mse) implements RangeSource {

        /** The width of the histogram the MSE search runs over, in standard deviations. */
        private static final double HISTOGRAM_SIGMAS = 8;

        private static final Set<OpKind> RANGE_PRESERVING =
                EnumSet.of(OpKind.RESHAPE, OpKind.PERMUTE, OpKind.IDENTITY, OpKind.PAD, OpKind.MAX_POOL, OpKind.AVG_POOL);

        public BatchNorm {
            if (!(sigmas > 0) || Double.isInfinite(sigmas)) {
                throw new DfqException("activation range 'bn': the number of standard deviations must be > 0, got "
                        + sigmas);
            }
            if (inputRange == null) {
                throw new DfqException("activation range 'bn' needs the network input's range fixed by preprocessing "
                        + "(e.g. [-1, 1] for x/127.5-1); give it, or use model, calib or none");
            }
        }

        @Override
        public String name() {
            return mse != null ? "bn:mse" : "bn";
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
                        : mse != null ? "MSE-optimal " + mse.bits() + "-bit clipping of the BatchNorm statistics' "
                        + "clipped normals" : "mean +- " + sigmas + " sigma of BatchNorm statistics";
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
            OpKind type = op == null ? OpKind.OTHER : g.kind(op);
            if (type == OpKind.LEAKY_RELU) {
                String x = g.inputs(op).get(0);
                if (mse != null && d.of(x).isPresent()) {
                    double alpha = g.attributes(op).scalar().orElse(0.01);
                    return ClippingSearch.best(histogram(d.of(x).get()).map(v -> v > 0 ? v : alpha * v), mse);
                }
                TensorRange in = rangeOf(g, d, x);
                return in == null ? null : QuantizationPoint.through(g, List.of(op), in);
            }
            if (type == OpKind.CONCAT) {
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
                return mse == null ? d.of(t).get().range(sigmas) : ClippingSearch.best(histogram(d.of(t).get()), mse);
            }
            if (RANGE_PRESERVING.contains(type)) { // values are a subset of the input's (plus zeros for pad)
                TensorRange in = rangeOf(g, d, g.inputs(op).get(0));
                return in == null || type != OpKind.PAD ? in : in.union(new TensorRange(0, 0));
            }
            return null;
        }

        private static ClippingSearch.Histogram histogram(ChannelDistribution x) {
            return ClippingSearch.ofDistribution(x, x.range(HISTOGRAM_SIGMAS));
        }

        private static String whyNot(GraphView g, ChannelDistributions d, String t) {
            String op = g.producer(t);
            if (op != null && g.kind(op) == OpKind.LEAKY_RELU) {
                return d.whyUnknown(g.inputs(op).get(0));
            }
            return d.whyUnknown(t);
        }

        private static void requireStatistics(GraphView g) {
            boolean any = g.weightLayers().stream().map(WeightLayer::output).anyMatch(l -> g.stats(l) != null)
                    || g.ops().stream().anyMatch(op -> g.kind(op) == OpKind.BATCH_NORM);
            if (!any) {
                throw new DfqException("activation range source 'bn' needs BatchNorm statistics, but network '"
                        + g.name() + "' has none (BatchNorm folded in the model file); use model "
                        + "(ranges recorded in the file), calib (calibration images) or none (weights only)");
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
            if (!g.hasRecordedRanges()) {
                throw new DfqException("activation range source 'model': network '" + g.name()
                        + "' records no activation ranges (a float model file); use bn, calib or none");
            }
            List<PointRange> out = new ArrayList<>();
            for (QuantizationPoint p : points) {
                TensorRange r = g.recordedRange(p.tensor());
                if (r != null) {
                    out.add(new PointRange(p, r, "recorded in the model"));
                } else if ((r = g.recordedRange(p.anchor())) != null) {
                    out.add(new PointRange(p, QuantizationPoint.through(g, p.activations(), r),
                            "recorded for '" + p.anchor() + "', mapped through " + p.activations()));
                } else {
                    out.add(new PointRange(p, null, "no range recorded in the model for '" + p.tensor() + "'"));
                }
            }
            return out;
        }
    }

    /** No activation ranges: weights-only quantization (its one instance is {@link RangeSource#none()}). */
    final class None implements RangeSource {

        private static final None INSTANCE = new None();

        private None() {
        }

        @Override
        public List<PointRange> ranges(GraphView g, List<QuantizationPoint> points) {
            return points.stream().map(p -> new PointRange(p, null, "activation quantization off")).toList();
        }

        @Override
        public String name() {
            return "none";
        }
    }
}
