package org.dfq4j.rewrite;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import org.dfq4j.rewrite.quant.CalibratedRanges;
import org.nd4j.linalg.api.ndarray.INDArray;

/**
 * Calibration images for the steps that are not data-free (empirical bias correction and
 * calibration ranges): the first n images, preprocessed for a network's input, in batches.
 * Implementations: {@link #of(List, String)} for arrays in memory; a folder of photographs
 * ({@code org.dfq4j.eval.data.PhotographCalibration} in dfq4j-eval); your own (a data loader, a
 * stream from a camera).
 */
public interface Calibration {

    /**
     * The first {@code n} images as batches [N, C, H, W] with [C, H, W] = {@code inputShape}.
     *
     * @throws DfqException when there are fewer than n images, or they do not fit the shape
     */
    List<INDArray> batches(int n, long[] inputShape);

    /** Where the images come from, for logs and reports. */
    String description();

    /** Batches already in memory (taken as they are: the first n images are used). */
    static Calibration of(List<INDArray> batches, String description) {
        List<INDArray> copy = List.copyOf(batches);
        return new Calibration() {
            @Override
            public List<INDArray> batches(int n, long[] inputShape) {
                for (INDArray b : copy) {
                    long[] s = b.shape();
                    if (s.length != 4 || s[1] != inputShape[0] || s[2] != inputShape[1] || s[3] != inputShape[2]) {
                        throw new DfqException("calibration images (" + description + ") have shape "
                                + Arrays.toString(s) + ", the network takes [N, " + inputShape[0] + ", "
                                + inputShape[1] + ", " + inputShape[2] + "]");
                    }
                }
                return new ArrayList<>(CalibratedRanges.first(copy, n).batches());
            }

            @Override
            public String description() {
                return description;
            }
        };
    }

    /** No calibration images: recipes that need them fail with a message that says so. */
    static Calibration none() {
        return new Calibration() {
            @Override
            public List<INDArray> batches(int n, long[] inputShape) {
                throw new DfqException("this recipe needs " + n + " calibration images (empirical correction or "
                        + "calibration ranges), and none were given");
            }

            @Override
            public String description() {
                return "none";
            }
        };
    }
}
