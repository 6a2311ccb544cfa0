package org.dfq4j.eval.data;

import org.nd4j.linalg.api.ndarray.INDArray;

/**
 * Consecutive photographs {@code start .. start + size() - 1} of a file list, decoded and
 * preprocessed into a float array [N, C, H, W].
 */
public record ImageBatch(int start, INDArray images) {

    /** Number of photographs in the batch. */
    public int size() {
        return (int) images.size(0);
    }
}
