package org.dfq4j.eval.detection;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.function.Function;
import org.dfq4j.eval.TestImages;
import org.dfq4j.eval.image.Preprocessing;
import org.dfq4j.eval.report.JsonReport;
import org.dfq4j.rewrite.DfqException;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;

class DetectionEvaluatorTest {

    private static final long[] INPUT = {3, 4, 4};
    private static final INDArray ANCHORS = Nd4j.createFromArray(new float[][] {
        {0.25f, 0.25f, 0.5f, 0.5f}, {0.25f, 0.3f, 0.5f, 0.5f}, {0.75f, 0.75f, 0.5f, 0.5f}});
    private static final Box A0 = new Box(0f, 0f, 0.5f, 0.5f);
    private static final Box A1 = new Box(0f, 0.05f, 0.5f, 0.55f);
    private static final Box A2 = new Box(0.5f, 0.5f, 1f, 1f);

    @TempDir
    Path dir;

    /**
     * Every image gets the scores of SsdPostProcessTest (zero encodings: boxes = anchors), so the
     * fast NMS (threshold 0.3, IoU 0.5) yields (A1, class 2, 0.7) and (A2, class 2, 0.45) per image.
     * The score output comes first and an unrelated output is present: heads are found by shape.
     */
    private static Function<INDArray, Map<String, INDArray>> model(float[][] perAnchorScores) {
        return batch -> {
            int n = (int) batch.size(0);
            float[][][] s = new float[n][][];
            for (int i = 0; i < n; i++) {
                s[i] = perAnchorScores;
            }
            Map<String, INDArray> out = new LinkedHashMap<>();
            out.put("scores", Nd4j.createFromArray(s));
            out.put("other", Nd4j.zeros(n, 7));
            out.put("boxes", Nd4j.zeros(n, 3, 4));
            return out;
        };
    }

    private static final float[][] SCORES = {{0.9f, 0.6f, 0.3f}, {0.1f, 0.2f, 0.7f}, {0.5f, 0.4f, 0.45f}};

    private DetectionEvaluator evaluator(float[][] scores, int batch) {
        SsdPostProcess pp = new SsdPostProcess(PostProcessOptions.fromProperties(
                SsdPostProcessTest.properties(10, 1, 0.3f, 2, false)), ANCHORS, ScoreConversion.AUTO);
        return new DetectionEvaluator("fake", model(scores), INPUT, pp, Preprocessing.RESIZE, batch)
                .withProgress(null).withLabels(LabelMap.of("l", List.of("???", "cat", "dog")));
    }

    private DetectionDataset dataset() {
        Path p1 = TestImages.write(TestImages.solid(8, 8, 0x808080), "png", dir.resolve("one.png"));
        Path p2 = TestImages.write(TestImages.solid(8, 8, 0x404040), "png", dir.resolve("two.png"));
        return DetectionDataset.of("two images", List.of(
                new AnnotatedImage("one", p1, 8, 8, List.of(new GroundTruthBox(A1, 2, false))),
                new AnnotatedImage("two", p2, 8, 8, List.of(new GroundTruthBox(A2, 2, false),
                        new GroundTruthBox(A0, 1, false)))), true);
    }

    /**
     * Class 2 (2 objects), detections by score (ties in image order): (0.7, one, A1) TP,
     * (0.7, two, A1) FP, (0.45, one, A2) FP, (0.45, two, A2) TP. Recall 1/2, 1/2, 1/2, 1; precision
     * 1, 1/2, 1/3, 1/2 -> AP = 1/2 x 1 + 1/2 x 1/2 = 3/4. Class 1 (1 object, never detected): AP 0.
     * mAP = 3/8.
     */
    @Test
    void measuresMapOverBatches() {
        DetectionResult r = evaluator(SCORES, 1).evaluate(dataset());
        assertEquals(2, r.images());
        assertEquals(List.of("one", "two"), r.names());
        assertEquals(2.0, r.detectionsPerImage(), 0);
        Detection best = r.detections().get(1).get(0);
        assertEquals(2, best.classId());
        assertEquals(0.7f, best.score(), 1e-6);
        assertEquals(0.375, r.meanAp(), 1e-12);
        assertEquals(Map.of("cat", 0.0, "dog", 0.75), r.classAp());
        assertEquals(37.5, r.report(false, null).meanAp(), 1e-9);
        assertTrue(JsonReport.toJson(r.report(false, null)).contains("\"mAP\" : 37.5"));
        String json = JsonReport.toJson(r.report(true, LabelMap.of("l", List.of("???", "cat", "dog"))));
        assertTrue(json.contains("\"dog\" : 75.0") && json.contains("\"class\" : \"dog\""), json);
    }

    /**
     * Fidelity: the reference's detections scoring at least 0.5 (A1 class 2 in each image) are the
     * truth. The same model: both A1 detections are TPs before any FP -> AP 1. A model whose scores
     * are all below the threshold detects nothing -> AP 0.
     */
    @Test
    void fidelityAgainstTheReferenceRun() {
        DetectionDataset photos = DetectionDataset.of("photos", dataset().images(), false);
        DetectionResult reference = evaluator(SCORES, 2).evaluate(photos);
        assertTrue(Double.isNaN(reference.meanAp()));
        DetectionResult same = evaluator(SCORES, 2).evaluate(photos);
        assertEquals(1.0, DetectionFidelity.compare(reference, same, 0.5f).mean(), 1e-12);
        float[][] low = {{0.9f, 0.1f, 0.1f}, {0.9f, 0.1f, 0.1f}, {0.9f, 0.1f, 0.1f}};
        DetectionResult nothing = evaluator(low, 2).evaluate(photos);
        assertEquals(0.0, nothing.detectionsPerImage(), 0);
        assertEquals(0.0, DetectionFidelity.compare(reference, nothing, 0.5f).mean(), 0);
    }

    @Test
    void outputsWithoutSsdHeadsAreRejected() {
        SsdPostProcess pp = new SsdPostProcess(PostProcessOptions.fromProperties(
                SsdPostProcessTest.properties(10, 1, 0.3f, 2, false)), ANCHORS, ScoreConversion.AUTO);
        DetectionEvaluator e = new DetectionEvaluator("classifier", b -> Map.of("logits", Nd4j.zeros(b.size(0), 5)),
                INPUT, pp, Preprocessing.RESIZE, 1).withProgress(null);
        DfqException x = assertThrows(DfqException.class, () -> e.evaluate(dataset()));
        assertTrue(x.getMessage().contains("classifier") && x.getMessage().contains("logits"), x.getMessage());
    }
}
