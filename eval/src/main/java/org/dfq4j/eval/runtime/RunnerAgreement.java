package org.dfq4j.eval.runtime;

import java.io.PrintStream;
import java.nio.file.Path;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import org.dfq4j.eval.data.ImageBatch;
import org.dfq4j.eval.data.ImageBatches;
import org.dfq4j.eval.image.Preprocessing;
import org.dfq4j.rewrite.DfqException;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.ops.transforms.Transforms;

/**
 * How closely two runners of the same network agree on the same photographs (say dfq4j's own
 * network and its ONNX export in ONNX Runtime): per image, the largest output difference relative
 * to the largest output magnitude, and the agreement of the first output's argmax over the class
 * axis (axis 1 of [N, K] scores or [N, K, h, w] logits: per photograph or per pixel; the last axis
 * of [N, anchors, K] scores: per anchor).
 *
 * @param images          photographs compared
 * @param positions       argmax positions compared (photographs, pixels or anchors)
 * @param agreeing        positions whose argmax is the same
 * @param imagesAgreeing  photographs whose every argmax position agrees
 * @param maxRelative     largest over images and outputs of max|a - b| / max|a|
 * @param meanRelative    mean over images of that image's largest relative difference
 */
public record RunnerAgreement(int images, long positions, long agreeing, int imagesAgreeing, double maxRelative,
                              double meanRelative) {

    /** Runs both on the photographs (batches of {@code batch}) and compares every output. */
    public static RunnerAgreement compare(Runner reference, Runner test, List<Path> photographs,
                                          Preprocessing preprocessing, int batch, PrintStream progress) {
        if (photographs.isEmpty()) {
            throw new DfqException("no photographs to compare the runtimes on");
        }
        long positions = 0;
        long agreeing = 0;
        int imagesAgreeing = 0;
        double maxRel = 0;
        double sumRel = 0;
        try (ImageBatches batches = new ImageBatches(photographs, preprocessing, reference.inputShape(), batch,
                ImageBatches.defaultDecodeThreads()).withProgress(progress)) {
            while (batches.hasNext()) {
                ImageBatch b = batches.next();
                Map<String, INDArray> ref = reference.run(b.images());
                Map<String, INDArray> tst = test.run(b.images());
                double[] rel = new double[b.size()];
                boolean first = true;
                for (Map.Entry<String, INDArray> e : ref.entrySet()) {
                    INDArray r = e.getValue().castTo(DataType.FLOAT);
                    INDArray t = tst.get(e.getKey());
                    if (t == null || !java.util.Arrays.equals(r.shape(), t.shape())) {
                        throw new DfqException("output '" + e.getKey() + "' of " + test.name() + " is "
                                + (t == null ? "missing" : java.util.Arrays.toString(t.shape())) + ", "
                                + reference.name() + " gives " + java.util.Arrays.toString(r.shape()));
                    }
                    t = t.castTo(DataType.FLOAT);
                    for (int i = 0; i < b.size(); i++) {
                        INDArray ri = r.slice(i);
                        double scale = Transforms.abs(ri).maxNumber().doubleValue();
                        double d = Transforms.abs(ri.sub(t.slice(i))).maxNumber().doubleValue();
                        rel[i] = Math.max(rel[i], scale > 0 ? d / scale : d);
                    }
                    if (first) {
                        first = false;
                        int axis = r.rank() == 3 ? 2 : 1;
                        INDArray same = r.argMax(axis).eq(t.argMax(axis)).castTo(DataType.DOUBLE);
                        for (int i = 0; i < b.size(); i++) {
                            INDArray si = same.rank() > 1 ? same.slice(i) : same.getScalar(i);
                            long n = si.length();
                            long ok = Math.round(si.sumNumber().doubleValue());
                            positions += n;
                            agreeing += ok;
                            imagesAgreeing += ok == n ? 1 : 0;
                        }
                    }
                }
                for (double v : rel) {
                    maxRel = Math.max(maxRel, v);
                    sumRel += v;
                }
            }
        }
        return new RunnerAgreement(photographs.size(), positions, agreeing, imagesAgreeing, maxRel,
                sumRel / photographs.size());
    }

    /** Percentage of argmax positions that agree. */
    public double agreementPercent() {
        return positions == 0 ? 100 : 100.0 * agreeing / positions;
    }

    /** One line, e.g. "argmax agrees on 168/168 photographs (100.00 %); relative output difference max 3.1e-06". */
    public String describe() {
        String what = positions == images ? String.format(Locale.ROOT, "top-1 agrees on %d/%d photographs (%.2f %%)",
                agreeing, images, agreementPercent())
                : String.format(Locale.ROOT, "argmax agrees on %.2f %% of %d positions (%d/%d photographs entirely)",
                agreementPercent(), positions, imagesAgreeing, images);
        return what + String.format(Locale.ROOT, "; relative output difference max %.2e, mean %.2e", maxRelative,
                meanRelative);
    }
}
