package org.dfq4j.eval.classify;

import org.dfq4j.rewrite.graph.Network;
import org.nd4j.linalg.api.ndarray.INDArray;

/**
 * Anything that scores a batch of images: a {@link Network}, or later an 8-bit simulation of one.
 * Scores are logits or probabilities; only their order matters for accuracy.
 */
@FunctionalInterface
public interface Classifier {

    /** Class scores [N, K] (or [N, K, 1, 1]) for images [N, C, H, W]. */
    INDArray logits(INDArray images);

    /** A network's first output as the scores. */
    static Classifier of(Network network) {
        return network::output;
    }
}
