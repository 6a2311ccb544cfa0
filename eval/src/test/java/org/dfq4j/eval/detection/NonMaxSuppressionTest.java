package org.dfq4j.eval.detection;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;

import org.junit.jupiter.api.Test;

class NonMaxSuppressionTest {

    /**
     * <pre>
     * 0: A [0, 0,   1, 1  ]  0.9
     * 1: B [0, 0.1, 1, 1.1]  0.8   IoU(A,B) = 0.9 / 1.1  = 0.818
     * 2: C [0, 0.5, 1, 1.5]  0.7   IoU(A,C) = 0.5 / 1.5  = 0.333, IoU(B,C) = 0.6 / 1.4 = 0.429
     * 3: D [2, 2,   3, 3  ]  0.3   overlaps nothing
     * 4: E [2, 2,   3, 3.2]  0.05  below the score threshold 0.1
     * </pre>
     *
     * IoU threshold 0.5: A kept, B suppressed by A, C kept, D kept, E never a candidate -> [0, 2, 3].
     * Threshold 0.4: still [0, 2, 3]: C overlaps B by 0.429 but B was suppressed, and only kept
     * boxes suppress (greedy). At most 2: [0, 2].
     */
    @Test
    void greedySelectionByScore() {
        Box[] boxes = {
            new Box(0f, 0f, 1f, 1f),
            new Box(0f, 0.1f, 1f, 1.1f),
            new Box(0f, 0.5f, 1f, 1.5f),
            new Box(2f, 2f, 3f, 3f),
            new Box(2f, 2f, 3f, 3.2f)};
        // given out of score order on purpose
        Box[] shuffled = {boxes[3], boxes[1], boxes[4], boxes[0], boxes[2]};
        float[] scores = {0.3f, 0.8f, 0.05f, 0.9f, 0.7f};
        // indices into shuffled: A = 3, C = 4, D = 0
        assertArrayEquals(new int[] {3, 4, 0}, NonMaxSuppression.select(shuffled, scores, 0.1f, 0.5f, 10));
        assertArrayEquals(new int[] {3, 4, 0}, NonMaxSuppression.select(shuffled, scores, 0.1f, 0.4f, 10));
        assertArrayEquals(new int[] {3, 4}, NonMaxSuppression.select(shuffled, scores, 0.1f, 0.5f, 2));
        // IoU threshold 0.3 < IoU(A,C): C goes as well
        assertArrayEquals(new int[] {3, 0}, NonMaxSuppression.select(shuffled, scores, 0.1f, 0.3f, 10));
    }

    /** TFLite keeps scores equal to the threshold; equal scores keep their input order. */
    @Test
    void thresholdIsInclusiveAndTiesAreStable() {
        Box[] boxes = {new Box(0f, 0f, 1f, 1f), new Box(2f, 2f, 3f, 3f), new Box(4f, 4f, 5f, 5f)};
        assertArrayEquals(new int[] {0, 1, 2}, NonMaxSuppression.select(boxes, new float[] {0.3f, 0.3f, 0.3f},
                0.3f, 0.5f, 10));
        assertArrayEquals(new int[] {2}, NonMaxSuppression.select(boxes, new float[] {0.2f, 0.29f, 0.3f},
                0.3f, 0.5f, 10));
    }
}
