package org.dfq4j.eval.segmentation;

import com.fasterxml.jackson.annotation.JsonInclude;
import com.fasterxml.jackson.annotation.JsonUnwrapped;
import org.dfq4j.eval.report.Provenance;

import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;

/**
 * The outcome of one segmentation run with its provenance (model, dataset, preprocessing spec,
 * batch size). Immutable.
 *
 * @param classes number of classes the model predicts (K)
 * @param meanIou mean IoU over classes present in truth or prediction, in [0,1]; NaN when the
 *     dataset has no masks
 * @param pixelAccuracy fraction of non-ignored pixels predicted correctly; NaN without masks
 * @param classIou IoU of each class, NaN for a class absent from truth and prediction (or
 *     without masks)
 * @param classNames a name per class (the label file), or "class i" when none was given
 * @param wallSeconds wall time of the whole loop (decoding, forward passes, metrics)
 * @param forwardSeconds time inside the model, copying its logits to the host included
 * @param names the samples' names in dataset order
 * @param masks the predicted masks at the masks' (or photographs') size, when retained
 */
public record SegmentationResult(String model, String dataset, String preprocessing, int batchSize, int images,
                                 int classes, double meanIou, double pixelAccuracy, double[] classIou,
                                 List<String> classNames, double wallSeconds, double forwardSeconds,
                                 List<String> names, Optional<List<LabelMask>> masks) {

    public SegmentationResult {
        Objects.requireNonNull(model);
        Objects.requireNonNull(dataset);
        Objects.requireNonNull(preprocessing);
        classIou = classIou.clone();
        classNames = List.copyOf(classNames);
        names = List.copyOf(names);
        masks = masks.map(List::copyOf);
        if (classIou.length != classes || classNames.size() != classes) {
            throw new IllegalArgumentException(classIou.length + " IoUs and " + classNames.size() + " names for "
                    + classes + " classes");
        }
        if (names.size() != images || masks.map(m -> m.size() != images).orElse(false)) {
            throw new IllegalArgumentException("names or masks do not match " + images + " images");
        }
    }

    @Override
    public double[] classIou() {
        return classIou.clone();
    }

    /** Whether the run was measured against ground-truth masks. */
    public boolean hasGroundTruth() {
        return !Double.isNaN(meanIou);
    }

    /** Photographs per second of wall time, everything included. */
    public double imagesPerSecond() {
        return images / wallSeconds;
    }

    /**
     * What JSON reports hold: provenance, metrics (mIoU and pixel accuracy in percent, per-class IoU
     * of the present classes by name; absent without masks) and timings. Never the masks.
     */
    @JsonInclude(JsonInclude.Include.NON_NULL)
    public record Report(@JsonUnwrapped Provenance provenance, int classes, Double meanIou, Double pixelAccuracy,
                         Map<String, Double> classIou, double wallSeconds, double forwardSeconds, double imagesPerSecond) {
    }

    /** The JSON report. */
    public Report report() {
        Map<String, Double> perClass = null;
        if (hasGroundTruth()) {
            perClass = new LinkedHashMap<>();
            for (int c = 0; c < classes; c++) {
                if (!Double.isNaN(classIou[c])) {
                    perClass.put(classNames.get(c), 100 * classIou[c]);
                }
            }
        }
        return new Report(new Provenance(model, dataset, preprocessing, batchSize, images), classes,
                hasGroundTruth() ? 100 * meanIou : null, hasGroundTruth() ? 100 * pixelAccuracy : null, perClass,
                wallSeconds, forwardSeconds, imagesPerSecond());
    }
}
