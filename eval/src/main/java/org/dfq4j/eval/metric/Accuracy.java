package org.dfq4j.eval.metric;

import java.util.List;
import com.google.common.base.Preconditions;

/** Top-k accuracy of per-image predictions. */
public final class Accuracy {

    private Accuracy() {
    }

    /** Percentage (0..100) of predictions whose label is among their first k ranked outputs. */
    public static double topKPercent(List<ImagePrediction> predictions, int k) {
        Preconditions.checkArgument(!predictions.isEmpty(), "no predictions");
        Preconditions.checkArgument(k >= 1, "k must be >= 1, got %s", k);
        long hits = predictions.stream().filter(p -> p.hit(k)).count();
        return 100.0 * hits / predictions.size();
    }
}
