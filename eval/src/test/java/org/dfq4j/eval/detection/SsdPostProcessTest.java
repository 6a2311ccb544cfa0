package org.dfq4j.eval.detection;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.HashMap;
import java.util.List;
import java.util.Map;
import org.dfq4j.rewrite.DfqException;
import org.junit.jupiter.api.Test;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;

class SsdPostProcessTest {

    /** The SSD COCO model's options, as an importer records them. */
    static Map<String, String> properties(int maxDetections, int classesPerDetection, float scoreThreshold,
                                          int numClasses, boolean regular) {
        Map<String, String> p = new HashMap<>();
        p.put("postprocess.max_detections", Integer.toString(maxDetections));
        p.put("postprocess.max_classes_per_detection", Integer.toString(classesPerDetection));
        p.put("postprocess.nms_score_threshold", Float.toString(scoreThreshold));
        p.put("postprocess.nms_iou_threshold", "0.5");
        p.put("postprocess.num_classes", Integer.toString(numClasses));
        p.put("postprocess.y_scale", "10.0");
        p.put("postprocess.x_scale", "10.0");
        p.put("postprocess.h_scale", "5.0");
        p.put("postprocess.w_scale", "5.0");
        p.put("postprocess.use_regular_nms", Boolean.toString(regular));
        return p;
    }

    /**
     * Anchor (yc 0.5, xc 0.5, h 0.2, w 0.4); scales y = x = 10, h = w = 5; encoding
     * (ty 1, tx -2, th 5 ln 2, tw 0):
     * ycenter = 1/10 x 0.2 + 0.5 = 0.52; xcenter = -2/10 x 0.4 + 0.5 = 0.42;
     * h = exp(ln 2) x 0.2 = 0.4; w = exp(0) x 0.4 = 0.4;
     * box = [0.52 - 0.2, 0.42 - 0.2, 0.52 + 0.2, 0.42 + 0.2] = [0.32, 0.22, 0.72, 0.62].
     * A second anchor (0.1, 0.2, 0.3, 0.4) with a zero encoding is the anchor itself:
     * [0.1 - 0.15, 0.2 - 0.2, 0.1 + 0.15, 0.2 + 0.2] = [-0.05, 0, 0.25, 0.4].
     */
    @Test
    void decodesCentreSizeEncodings() {
        INDArray anchors = Nd4j.createFromArray(new float[][] {{0.5f, 0.5f, 0.2f, 0.4f}, {0.1f, 0.2f, 0.3f, 0.4f}});
        SsdPostProcess pp = new SsdPostProcess(PostProcessOptions.fromProperties(properties(10, 1, 0f, 1, false)),
                anchors, ScoreConversion.NONE);
        // stride 5: a fifth value (a keypoint) is ignored
        float[] enc = {1f, -2f, (float) (5 * Math.log(2)), 0f, 99f, 0f, 0f, 0f, 0f, 99f};
        Box[] boxes = pp.decode(enc, 0, 5);
        assertBox(new Box(0.32f, 0.22f, 0.72f, 0.62f), boxes[0]);
        assertBox(new Box(-0.05f, 0f, 0.25f, 0.4f), boxes[1]);
    }

    private static void assertBox(Box expected, Box actual) {
        assertEquals(expected.ymin(), actual.ymin(), 1e-6, "ymin");
        assertEquals(expected.xmin(), actual.xmin(), 1e-6, "xmin");
        assertEquals(expected.ymax(), actual.ymax(), 1e-6, "ymax");
        assertEquals(expected.xmax(), actual.xmax(), 1e-6, "xmax");
    }

    /**
     * Three anchors with zero encodings (boxes = anchors): a0 = [0,0,0.5,0.5], a1 = [0,0.05,0.5,0.55]
     * (IoU(a0,a1) = 0.225 / 0.275 = 0.818), a2 = [0.5,0.5,1,1] (disjoint). Scores (background, c1, c2):
     *
     * <pre>
     * a0: 0.9  0.6  0.3     best class 1 (0.6): the background's 0.9 never counts
     * a1: 0.1  0.2  0.7     best class 2 (0.7)
     * a2: 0.5  0.4  0.45    best class 2 (0.45)
     * </pre>
     */
    private static final float[][][] SCORES = {{{0.9f, 0.6f, 0.3f}, {0.1f, 0.2f, 0.7f}, {0.5f, 0.4f, 0.45f}}};
    private static final INDArray ANCHORS = Nd4j.createFromArray(new float[][] {
        {0.25f, 0.25f, 0.5f, 0.5f}, {0.25f, 0.3f, 0.5f, 0.5f}, {0.75f, 0.75f, 0.5f, 0.5f}});
    private static final Box A0 = new Box(0f, 0f, 0.5f, 0.5f);
    private static final Box A1 = new Box(0f, 0.05f, 0.5f, 0.55f);
    private static final Box A2 = new Box(0.5f, 0.5f, 1f, 1f);

    private static List<Detection> run(Map<String, String> props, float[][][] scores, ScoreConversion conv) {
        SsdPostProcess pp = new SsdPostProcess(PostProcessOptions.fromProperties(props), ANCHORS, conv);
        return pp.apply(Nd4j.zeros(1, 3, 4), Nd4j.createFromArray(scores)).get(0);
    }

    /** A detection a test expects. */
    private record Expected(Box box, int classId, float score) {
    }

    /** Exactly the expected detections, in order. */
    private static void assertDetections(List<Detection> d, Expected... expected) {
        assertEquals(expected.length, d.size(), d.toString());
        for (int i = 0; i < expected.length; i++) {
            assertDetection(expected[i].box(), expected[i].classId(), expected[i].score(), d.get(i));
        }
    }

    private static void assertDetection(Box box, int classId, float score, Detection d) {
        assertBox(box, d.box());
        assertEquals(classId, d.classId());
        assertEquals(score, d.score(), 1e-6);
    }

    /**
     * Fast NMS, score threshold 0.3, IoU 0.5: by best score a1 (0.7), a0 (0.6), a2 (0.45). a1 kept;
     * a0 overlaps a1 by 0.818 and goes although its class differs (class-agnostic); a2 kept.
     * With 2 classes per detection each kept anchor also reports its second class.
     */
    @Test
    void fastNmsIsClassAgnostic() {
        List<Detection> d = run(properties(10, 1, 0.3f, 2, false), SCORES, ScoreConversion.NONE);
        assertDetections(d, new Expected(A1, 2, 0.7f), new Expected(A2, 2, 0.45f));

        List<Detection> two = run(properties(10, 2, 0.3f, 2, false), SCORES, ScoreConversion.NONE);
        assertDetections(two,
                new Expected(A1, 2, 0.7f),
                new Expected(A1, 1, 0.2f),
                new Expected(A2, 2, 0.45f),
                new Expected(A2, 1, 0.4f));

        List<Detection> one = run(properties(1, 1, 0.3f, 2, false), SCORES, ScoreConversion.NONE);
        assertDetections(one, new Expected(A1, 2, 0.7f));
    }

    /**
     * Regular NMS, score threshold 0.3 (inclusive), IoU 0.5, per class:
     * class 1: a0 0.6, a2 0.4 (a1's 0.2 below the threshold) -> both kept (disjoint);
     * class 2: a1 0.7, a2 0.45, a0 0.3 -> a1, a2 kept, a0 suppressed by a1.
     * All by score: (a1,2,0.7), (a0,1,0.6), (a2,2,0.45), (a2,1,0.4); at most 3 -> the first three.
     */
    @Test
    void regularNmsWorksPerClass() {
        List<Detection> d = run(properties(3, 1, 0.3f, 2, true), SCORES, ScoreConversion.NONE);
        assertDetections(d, new Expected(A1, 2, 0.7f), new Expected(A0, 1, 0.6f), new Expected(A2, 2, 0.45f));
    }

    /**
     * Logits: AUTO sees values outside [0,1] and applies the sigmoid; the selection matches the
     * probabilities' and the reported score is sigmoid(logit).
     */
    @Test
    void logitsAreConvertedWithTheSigmoid() {
        float[][][] logits = new float[1][3][3];
        for (int a = 0; a < 3; a++) {
            for (int c = 0; c < 3; c++) {
                double p = SCORES[0][a][c];
                logits[0][a][c] = (float) Math.log(p / (1 - p));
            }
        }
        List<Detection> d = run(properties(10, 1, 0.3f, 2, false), logits, ScoreConversion.AUTO);
        assertDetections(d, new Expected(A1, 2, 0.7f), new Expected(A2, 2, 0.45f));
        assertEquals(ScoreConversion.SIGMOID, ScoreConversion.AUTO.resolve(new float[] {0.5f, -0.1f}));
        assertEquals(ScoreConversion.NONE, ScoreConversion.AUTO.resolve(new float[] {0f, 0.5f, 1f}));
    }

    @Test
    void scoresWithoutBackgroundColumnUseEveryColumn() {
        // num_classes 3 with 3 columns: column 0 is a class; a0's best is now column 0 (0.9)
        List<Detection> d = run(properties(10, 1, 0.3f, 3, false), SCORES, ScoreConversion.NONE);
        assertDetection(A0, 0, 0.9f, d.get(0));
        assertDetection(A2, 0, 0.5f, d.get(1));
        assertEquals(2, d.size());
    }

    @Test
    void missingOptionsAndWrongShapesAreReported() {
        Map<String, String> p = properties(10, 1, 0.3f, 2, false);
        p.remove("postprocess.h_scale");
        DfqException e = assertThrows(DfqException.class, () -> PostProcessOptions.fromProperties(p));
        assertTrue(e.getMessage().contains("postprocess.h_scale"), e.getMessage());
        PostProcessOptions o = PostProcessOptions.fromProperties(properties(10, 1, 0.3f, 2, false));
        assertFalse(o.useRegularNms());
        assertEquals(PostProcessOptions.DEFAULT_DETECTIONS_PER_CLASS, o.detectionsPerClass());
        SsdPostProcess pp = new SsdPostProcess(o, ANCHORS, ScoreConversion.NONE);
        DfqException shape = assertThrows(DfqException.class,
                () -> pp.apply(Nd4j.zeros(1, 4, 4), Nd4j.zeros(1, 4, 3)));
        assertTrue(shape.getMessage().contains("[1, 4, 4]"), shape.getMessage());
    }
}
