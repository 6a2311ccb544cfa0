package org.dfq4j.eval.metric;

import java.util.Arrays;
import java.util.Objects;

/**
 * What a classifier said about one photograph: its true label and the highest-scoring outputs,
 * best first ({@code ranked[0]} is the top-1 prediction).
 */
public record ImagePrediction(String file, int label, int[] ranked) {

    public ImagePrediction {
        Objects.requireNonNull(file);
        if (ranked.length == 0) {
            throw new IllegalArgumentException("a prediction needs at least one ranked output");
        }
        ranked = ranked.clone();
    }

    @Override
    public int[] ranked() {
        return ranked.clone();
    }

    /** The top-1 output index. */
    public int top1() {
        return ranked[0];
    }

    /** Whether the label is among the first k ranked outputs. */
    public boolean hit(int k) {
        for (int i = 0; i < Math.min(k, ranked.length); i++) {
            if (ranked[i] == label) {
                return true;
            }
        }
        return false;
    }

    @Override
    public boolean equals(Object o) {
        return o instanceof ImagePrediction p && file.equals(p.file) && label == p.label
                && Arrays.equals(ranked, p.ranked);
    }

    @Override
    public int hashCode() {
        return Objects.hash(file, label) * 31 + Arrays.hashCode(ranked);
    }

    @Override
    public String toString() {
        return "ImagePrediction[" + file + ", label " + label + ", ranked " + Arrays.toString(ranked) + "]";
    }
}
