package org.dfq4j.eval.detection;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.Comparator;
import java.util.List;
import com.google.common.base.Preconditions;

/**
 * Greedy non-maximum suppression as TFLite_Detection_PostProcess performs it for one score per
 * box: keep the boxes scoring at least the score threshold, visit them by decreasing score (a
 * stable order: on a tie the lower index first), select a box unless a selected box overlaps it
 * by an IoU strictly above the IoU threshold, and stop after {@code maxSelected} selections.
 */
public final class NonMaxSuppression {

    private NonMaxSuppression() {
    }

    /**
     * @param boxes one box per candidate
     * @param scores one score per candidate
     * @return indices of the selected candidates, in selection order (decreasing score)
     */
    public static int[] select(Box[] boxes, float[] scores, float scoreThreshold, float iouThreshold,
                               int maxSelected) {
        Preconditions.checkArgument(boxes.length == scores.length, "%s boxes but %s scores", boxes.length,
                scores.length);
        List<Integer> candidates = new ArrayList<>();
        for (int i = 0; i < scores.length; i++) {
            if (scores[i] >= scoreThreshold) {
                candidates.add(i);
            }
        }
        candidates.sort(Comparator.comparingDouble((Integer i) -> -scores[i]));
        int[] selected = new int[Math.min(maxSelected, candidates.size())];
        int n = 0;
        boolean[] suppressed = new boolean[candidates.size()];
        for (int i = 0; i < candidates.size() && n < selected.length; i++) {
            if (suppressed[i]) {
                continue;
            }
            Box kept = boxes[candidates.get(i)];
            selected[n++] = candidates.get(i);
            for (int j = i + 1; j < candidates.size(); j++) {
                if (!suppressed[j] && kept.iou(boxes[candidates.get(j)]) > iouThreshold) {
                    suppressed[j] = true;
                }
            }
        }
        return n == selected.length ? selected : Arrays.copyOf(selected, n);
    }
}
