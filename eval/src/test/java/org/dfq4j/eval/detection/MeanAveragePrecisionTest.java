package org.dfq4j.eval.detection;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

class MeanAveragePrecisionTest {

    private static final Box G1 = new Box(0f, 0f, 0.4f, 0.4f);
    private static final Box G2 = new Box(0.5f, 0.5f, 0.9f, 0.9f);

    /**
     * A = [0,0,0.4,0.4], B = [0.2,0.2,0.6,0.6]: areas 0.16 each, intersection 0.2 x 0.2 = 0.04,
     * IoU = 0.04 / (0.32 - 0.04) = 1/7. Disjoint boxes: 0; a box with itself: 1; an empty box: 0.
     */
    @Test
    void iouOfBoxes() {
        Box a = new Box(0f, 0f, 0.4f, 0.4f);
        Box b = new Box(0.2f, 0.2f, 0.6f, 0.6f);
        assertEquals(1.0 / 7, a.iou(b), 1e-6);
        assertEquals(a.iou(b), b.iou(a), 0);
        assertEquals(1.0, a.iou(a), 1e-7);
        assertEquals(0.0, a.iou(G2), 0);
        assertEquals(0.0, a.iou(new Box(0.1f, 0.1f, 0.1f, 0.3f)), 0);
    }

    /**
     * Two ground-truth boxes of class 1; three detections:
     *
     * <pre>
     * D1 score 0.9 = G1 exactly                 IoU(G1) = 1     -> TP (G1 taken)
     * D2 score 0.8 = [0,0,0.4,0.36]             IoU(G1) = 0.144/0.16 = 0.9 -> duplicate of G1: FP
     * D3 score 0.7 = [0.5,0.5,0.9,0.8]          IoU(G2) = 0.12/0.16 = 0.75 -> TP
     * </pre>
     *
     * After each: recall 1/2, 1/2, 1; precision 1, 1/2, 2/3. Envelope: 1 up to recall 1/2, 2/3 up to
     * recall 1. All-point AP = 0.5 x 1 + 0.5 x 2/3 = 5/6.
     */
    @Test
    void apWithADuplicateDetection() {
        MeanAveragePrecision map = new MeanAveragePrecision();
        map.add(List.of(
                new Detection(new Box(0.5f, 0.5f, 0.9f, 0.8f), 1, 0.7f),
                new Detection(G1, 1, 0.9f),
                new Detection(new Box(0f, 0f, 0.4f, 0.36f), 1, 0.8f)),
                List.of(new GroundTruthBox(G1, 1, false), new GroundTruthBox(G2, 1, false)));
        Map<Integer, Double> ap = map.averagePrecisions();
        assertEquals(java.util.Set.of(1), ap.keySet());
        assertEquals(5.0 / 6, ap.get(1), 1e-12);
        assertEquals(5.0 / 6, map.mean(), 1e-12);
    }

    /**
     * As above, plus a second image holding one object of class 3 that nothing detects (AP 0) and a
     * confident detection of class 2, which has no ground truth and so counts nowhere.
     * mAP = (5/6 + 0) / 2 = 5/12.
     */
    @Test
    void meanOverClassesWithGroundTruthOnly() {
        MeanAveragePrecision map = new MeanAveragePrecision();
        map.add(List.of(new Detection(G1, 1, 0.9f), new Detection(new Box(0f, 0f, 0.4f, 0.36f), 1, 0.8f),
                        new Detection(new Box(0.5f, 0.5f, 0.9f, 0.8f), 1, 0.7f)),
                List.of(new GroundTruthBox(G1, 1, false), new GroundTruthBox(G2, 1, false)));
        map.add(List.of(new Detection(G2, 2, 0.99f)), List.of(new GroundTruthBox(G1, 3, false)));
        Map<Integer, Double> ap = map.averagePrecisions();
        assertEquals(2, ap.size());
        assertEquals(5.0 / 6, ap.get(1), 1e-12);
        assertEquals(0.0, ap.get(3), 0);
        assertEquals(5.0 / 12, map.mean(), 1e-12);
    }

    /**
     * A detection on a "difficult" object is ignored: with G2 difficult, D1 on G1 is a TP (recall 1,
     * the only positive), the detection on G2 counts neither way, so AP = 1. A low-overlap detection
     * (IoU exactly 0.5 is not above VOC's threshold) is a false positive.
     */
    @Test
    void difficultObjectsAreIgnoredAndTheThresholdIsStrict() {
        MeanAveragePrecision map = new MeanAveragePrecision();
        map.add(List.of(new Detection(G2, 1, 0.95f), new Detection(G1, 1, 0.9f)),
                List.of(new GroundTruthBox(G1, 1, false), new GroundTruthBox(G2, 1, true)));
        assertEquals(1.0, map.mean(), 1e-12);

        // truth [0,0,0.5,0.5]; [0,0,0.5,0.25] has IoU 0.125 / 0.25 = 0.5 exactly (binary fractions) -> FP;
        // then the exact box -> TP. recall 0, 1; precision 0, 1/2 -> AP = 1 x 1/2
        Box t = new Box(0f, 0f, 0.5f, 0.5f);
        MeanAveragePrecision strict = new MeanAveragePrecision();
        strict.add(List.of(new Detection(new Box(0f, 0f, 0.5f, 0.25f), 1, 0.9f), new Detection(t, 1, 0.8f)),
                List.of(new GroundTruthBox(t, 1, false)));
        assertEquals(0.5, strict.mean(), 1e-12);
    }

    @Test
    void allPointInterpolation() {
        assertEquals(5.0 / 6, MeanAveragePrecision.averagePrecision(new double[] {0.5, 0.5, 1},
                new double[] {1, 0.5, 2.0 / 3}), 1e-12);
        // precision rises late: envelope lifts the early points. r 0.25,0.5,0.75 at p 0.5,0.4,0.6:
        // 0.25 x 0.6 + 0.25 x 0.6 + 0.25 x 0.6 = 0.45
        assertEquals(0.45, MeanAveragePrecision.averagePrecision(new double[] {0.25, 0.5, 0.75},
                new double[] {0.5, 0.4, 0.6}), 1e-12);
        assertEquals(0.0, MeanAveragePrecision.averagePrecision(new double[0], new double[0]), 0);
    }

    @Test
    void noGroundTruthMeansNoMean() {
        MeanAveragePrecision map = new MeanAveragePrecision();
        map.add(List.of(new Detection(G1, 1, 0.9f)), List.of());
        assertTrue(map.averagePrecisions().isEmpty());
        assertTrue(Double.isNaN(map.mean()));
    }

}
