package org.dfq4j.eval.segmentation;

import java.util.List;
import org.dfq4j.rewrite.DfqException;

/**
 * How closely a test run (e.g. an 8-bit network) follows a reference run (FP32) of the same model
 * on the same photographs, where ground truth may not exist: the reference's predicted masks are
 * taken as the truth, so {@code compare(...).meanIou()} is the test's mIoU against the reference
 * and {@code pixelAccuracy()} the fraction of pixels whose class agrees.
 */
public final class SegmentationFidelity {

    private SegmentationFidelity() {
    }

    /**
     * @throws DfqException when a run did not retain its masks or the runs cover different samples
     */
    public static ConfusionMatrix compare(SegmentationResult reference, SegmentationResult test) {
        if (!reference.names().equals(test.names())) {
            throw new DfqException("runs '" + reference.model() + "' and '" + test.model()
                    + "' cover different photographs; evaluate both on the same dataset");
        }
        if (reference.classes() != test.classes()) {
            throw new DfqException("runs '" + reference.model() + "' and '" + test.model() + "' predict "
                    + reference.classes() + " and " + test.classes() + " classes");
        }
        List<LabelMask> ref = reference.masks().orElseThrow(() -> notRetained(reference));
        List<LabelMask> tst = test.masks().orElseThrow(() -> notRetained(test));
        return compare(ref, tst, reference.classes(), reference.names());
    }

    /**
     * The confusion matrix of test masks against reference masks, pair by pair.
     *
     * @param names one per pair, for messages
     */
    public static ConfusionMatrix compare(List<LabelMask> reference, List<LabelMask> test, int classes,
                                          List<String> names) {
        if (reference.size() != test.size() || reference.size() != names.size()) {
            throw new IllegalArgumentException(reference.size() + " reference masks, " + test.size() + " test masks, "
                    + names.size() + " names");
        }
        ConfusionMatrix m = new ConfusionMatrix(classes);
        for (int i = 0; i < reference.size(); i++) {
            m.add(reference.get(i), test.get(i), "reference prediction of " + names.get(i));
        }
        return m;
    }

    private static DfqException notRetained(SegmentationResult r) {
        return new DfqException("run '" + r.model() + "' kept no predicted masks; evaluate with retained masks to"
                + " compare runs");
    }
}
