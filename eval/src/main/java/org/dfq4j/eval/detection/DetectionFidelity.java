package org.dfq4j.eval.detection;

import java.util.ArrayList;
import java.util.List;
import org.dfq4j.rewrite.DfqException;

/**
 * How closely a test run (e.g. an 8-bit network) follows a reference run (FP32) of the same model
 * on the same photographs, where ground truth may not exist: the reference's detections scoring
 * at least {@code minReferenceScore} are taken as ground truth, and the test's detections are
 * scored against them with the VOC metric ({@link MeanAveragePrecision}).
 */
public final class DetectionFidelity {

    /**
     * The reference score from which a reference detection counts as an object: the confident
     * detections, not the near-zero ones that fill TFLite's fixed number of outputs.
     */
    public static final float DEFAULT_MIN_REFERENCE_SCORE = 0.5f;

    private DetectionFidelity() {
    }

    /**
     * @throws DfqException when the runs cover different photographs
     */
    public static MeanAveragePrecision compare(DetectionResult reference, DetectionResult test,
                                               float minReferenceScore) {
        if (!reference.names().equals(test.names())) {
            throw new DfqException("runs '" + reference.model() + "' and '" + test.model()
                    + "' cover different photographs; evaluate both on the same dataset");
        }
        return compare(reference.detections(), test.detections(), minReferenceScore, reference.iouThreshold());
    }

    /** Test detections scored against reference detections (score &ge; minReferenceScore), image by image. */
    public static MeanAveragePrecision compare(List<List<Detection>> reference, List<List<Detection>> test,
                                               float minReferenceScore, double iouThreshold) {
        if (reference.size() != test.size()) {
            throw new IllegalArgumentException(reference.size() + " reference images but " + test.size() + " test");
        }
        MeanAveragePrecision map = new MeanAveragePrecision(iouThreshold);
        for (int i = 0; i < reference.size(); i++) {
            List<GroundTruthBox> truth = new ArrayList<>();
            for (Detection d : reference.get(i)) {
                if (d.score() >= minReferenceScore) {
                    truth.add(new GroundTruthBox(d.box(), d.classId(), false));
                }
            }
            map.add(test.get(i), truth);
        }
        return map;
    }
}
