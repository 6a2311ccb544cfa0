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
 * Activation ranges measured on calibration images ({@code calib:N}): the network as it is when
 * ranges are asked for (float, before activation quantization) runs on each batch, and each
 * quantization point's range is the min/max over all images. The reductions run inside a scratch
 * copy of the graph, so only two scalars per tensor and batch are kept.
 */
public record CalibratedRanges(List<INDArray> batches) implements RangeSource {

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
        return "calib:" + images();
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
        }
        String note = "min/max over " + images() + " calibration images";
        return points.stream().map(p -> new PointRange(p, ranges.get(p.tensor()), note)).toList();
    }

    /** Ranges over the first {@code n} images of {@code batches}. */
    public static CalibratedRanges first(List<INDArray> batches, int n) {
        return new CalibratedRanges(firstImages(batches, n));
    }

    /** The first n images of a list of batches (the last batch cut short if needed). */
    static List<INDArray> firstImages(List<INDArray> batches, int n) {
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
