package org.dfq4j.rewrite.quant;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.dfq4j.rewrite.DfqException;
import org.dfq4j.rewrite.engine.GraphEditor;
import org.dfq4j.rewrite.graph.Network;
import org.dfq4j.rewrite.graph.TensorRange;
import org.dfq4j.rewrite.view.GraphView;
import org.nd4j.autodiff.samediff.SameDiff;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.indexing.NDArrayIndex;

/**
 * Activation ranges measured on calibration images: the network as it is when ranges are asked for
 * (float, before activation quantization) runs on each batch, and each quantization point's range is
 * the min/max over all images ({@code calib:minmax}), or, with a scheme, the MSE-optimal clipping of
 * that scheme for the values seen ({@code calib}, {@link ClippingSearch}): a second pass bins every
 * value of each tensor into a histogram over its min/max, so memory stays one batch of activations.
 * The min/max reductions run inside a scratch copy of the graph, so only two scalars per tensor and
 * batch are kept.
 *
 * @param batches calibration images [N,C,H,W]
 * @param mse     the activation scheme whose MSE the clipping minimises; null for min/max
 */
public record CalibratedRanges(List<INDArray> batches, QuantScheme mse) implements RangeSource {

    /** Min/max ranges. */
    public CalibratedRanges(List<INDArray> batches) {
        this(batches, null);
    }

    public CalibratedRanges {
        batches = List.copyOf(batches);
        if (batches.isEmpty()) {
            throw new DfqException("activation range source 'calib': no calibration images were given");
        }
    }

    /** Number of images over all batches. */
    public long images() {
        return batches.stream().mapToLong(b -> b.size(0)).sum();
    }

    @Override
    public String name() {
        return (mse == null ? "calib-minmax:" : "calib:") + images();
    }

    @Override
    public List<PointRange> ranges(GraphView g, List<QuantizationPoint> points) {
        GraphEditor editor = new GraphEditor(g.snapshot());
        Map<String, String[]> reductions = new LinkedHashMap<>();
        for (QuantizationPoint p : points) {
            String[] names = new String[2];
            editor.insertAfter(p.tensor(), x -> {
                SameDiff sd = x.getSameDiff();
                names[0] = sd.min(x).name();
                names[1] = sd.max(x).name();
                return sd.identity(x);
            });
            reductions.put(p.tensor(), names);
        }
        List<String> wanted = new ArrayList<>();
        reductions.values().forEach(n -> wanted.addAll(List.of(n)));
        Map<String, TensorRange> ranges = new LinkedHashMap<>();
        Network scratch = editor.network();
        for (INDArray batch : batches) {
            Map<String, INDArray> r = scratch.run(batch, wanted);
            reductions.forEach((t, n) -> {
                TensorRange now = new TensorRange(r.get(n[0]).getDouble(0), r.get(n[1]).getDouble(0));
                ranges.merge(t, now, TensorRange::union);
            });
            release(r, batch);
        }
        String note = "min/max over " + images() + " calibration images";
        if (mse == null) {
            return points.stream().map(p -> new PointRange(p, ranges.get(p.tensor()), note)).toList();
        }
        Map<String, ClippingSearch.Histogram> histograms = histograms(g.snapshot(), ranges);
        List<PointRange> out = new ArrayList<>();
        for (QuantizationPoint p : points) {
            TensorRange minMax = ranges.get(p.tensor());
            TensorRange best = ClippingSearch.best(histograms.get(p.tensor()), mse);
            out.add(new PointRange(p, best, String.format(java.util.Locale.ROOT,
                    "MSE-optimal %d-bit clipping over %d calibration images (min/max %s)", mse.bits(), images(), minMax)));
        }
        return out;
    }

    /** One histogram per tensor over its min/max, filled from every value of every calibration image. */
    private Map<String, ClippingSearch.Histogram> histograms(Network net, Map<String, TensorRange> ranges) {
        Map<String, ClippingSearch.Histogram> h = new LinkedHashMap<>();
        ranges.forEach((t, r) -> h.put(t, ClippingSearch.Histogram.over(r)));
        List<String> tensors = new ArrayList<>(ranges.keySet());
        for (INDArray batch : batches) {
            for (long i = 0; i < batch.size(0); i += SUB_BATCH) {
                INDArray part = batch.size(0) <= SUB_BATCH ? batch
                        : batch.get(NDArrayIndex.interval(i, Math.min(batch.size(0), i + SUB_BATCH)));
                Map<String, INDArray> r = net.run(part, tensors);
                r.forEach((t, v) -> h.compute(t, (k, old) -> old.add(v.dup('c').data().asFloat())));
                release(r, part);
                if (batch.size(0) <= SUB_BATCH) {
                    break;
                }
            }
        }
        return h;
    }

    /**
     * Frees the off-heap buffers of a pass's outputs now rather than at the collector's leisure: every quantized
     * tensor of a batch is held at once, and on MobileNetV2 that is most of the calibration's peak memory.
     */
    private static void release(Map<String, INDArray> outputs, INDArray input) {
        java.util.Set<INDArray> seen = java.util.Collections.newSetFromMap(new java.util.IdentityHashMap<>());
        for (INDArray v : outputs.values()) {
            // never the caller's input (a quantized network input comes back as the batch itself)
            if (seen.add(v) && v != input && !v.isView() && v.data() != input.data() && v.closeable()) {
                v.close();
            }
        }
    }

    /** Images per forward pass of the histogram pass (every quantized tensor of the batch is held). */
    private static final int SUB_BATCH = 2;

    /** Ranges over the first {@code n} images of {@code batches}. */
    public static CalibratedRanges first(List<INDArray> batches, int n) {
        return new CalibratedRanges(firstImages(batches, n));
    }

    /** The first n images of a list of batches (the last batch cut short if needed). */
    public static List<INDArray> firstImages(List<INDArray> batches, int n) {
        if (n < 1) {
            throw new DfqException("calibration ranges need at least 1 image, got " + n);
        }
        long have = batches.stream().mapToLong(b -> b.size(0)).sum();
        if (have < n) {
            throw new DfqException("calibration ranges need " + n + " calibration images, but " + have
                    + " were given; give more images or ask for fewer");
        }
        List<INDArray> parts = new ArrayList<>();
        long left = n;
        for (INDArray b : batches) {
            if (left == 0) {
                break;
            }
            long take = Math.min(left, b.size(0));
            parts.add(take == b.size(0) ? b : b.get(NDArrayIndex.interval(0, take)).dup());
            left -= take;
        }
        return parts;
    }
}
