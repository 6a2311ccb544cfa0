package org.dfq4j.eval.segmentation;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Path;
import java.util.List;
import java.util.Optional;
import java.util.function.Function;
import org.dfq4j.eval.TestImages;
import org.dfq4j.eval.image.Preprocessing;
import org.dfq4j.eval.report.JsonReport;
import org.dfq4j.rewrite.DfqException;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;
import org.nd4j.linalg.indexing.NDArrayIndex;

class SegmentationEvaluatorTest {

    private static final long[] INPUT = {3, 8, 8};

    @TempDir
    Path dir;

    /** Class 0's logit is 0, class 1's is the normalized red channel: red pixels are class 1. */
    private static final Function<INDArray, INDArray> RED_IS_CLASS_1 = batch -> Nd4j.concat(1,
            Nd4j.zerosLike(batch.get(NDArrayIndex.all(), NDArrayIndex.interval(0, 1), NDArrayIndex.all(),
                    NDArrayIndex.all())),
            batch.get(NDArrayIndex.all(), NDArrayIndex.interval(0, 1), NDArrayIndex.all(), NDArrayIndex.all()).dup());

    /** Predicts class 0 everywhere (a badly damaged network). */
    private static final Function<INDArray, INDArray> ALL_BACKGROUND = batch -> Nd4j.concat(1,
            Nd4j.ones(batch.size(0), 1, 8, 8), Nd4j.zeros(batch.size(0), 1, 8, 8));

    /** 8x8 photographs whose left half is red, right half black. */
    private SegmentationDataset dataset(int count) {
        for (int i = 0; i < count; i++) {
            TestImages.write(TestImages.rgb(8, 8, (x, y) -> x < 4 ? 0xFF0000 : 0), "png", dir.resolve("p" + i + ".png"));
            int[] ids = new int[64];
            for (int p = 0; p < 64; p++) {
                ids[p] = p % 8 < 4 ? 1 : 0;
            }
            ids[0] = 0;                    // (0,0): truth 0 where the model says 1
            ids[63] = LabelMask.IGNORE;    // (7,7): ignored
            SegmentationDatasetTest.writePaletteMask(dir.resolve("p" + i + "_mask.png"), 8, 8, ids);
        }
        return SegmentationDataset.pairedFolder(dir);
    }

    /**
     * Per image: truth 1 on 31 pixels, all predicted 1; truth 0 on 32 counted pixels (32 + the
     * relabelled (0,0) - the ignored (7,7)), 31 predicted 0 and (0,0) predicted 1.
     * IoU(0) = 31 / (32 + 31 - 31) = 31/32; IoU(1) = 31 / (31 + 32 - 31) = 31/32; accuracy 62/63.
     */
    @Test
    void measuresMeanIouAndPixelAccuracyOverBatches() {
        SegmentationDataset ds = dataset(3);
        SegmentationResult r = new SegmentationEvaluator("red", RED_IS_CLASS_1, INPUT, Preprocessing.RESIZE, 2)
                .withProgress(null).withRetainedMasks(true).withClassNames(List.of("background", "red"))
                .evaluate(ds);
        assertEquals(3, r.images());
        assertEquals(2, r.classes());
        assertEquals(31.0 / 32, r.meanIou(), 1e-12);
        assertEquals(62.0 / 63, r.pixelAccuracy(), 1e-12);
        assertArrayEquals(new double[] {31.0 / 32, 31.0 / 32}, r.classIou(), 1e-12);
        assertEquals(List.of("p0", "p1", "p2"), r.names());
        LabelMask first = r.masks().orElseThrow().get(0);
        assertEquals(1, first.classAt(0, 0));
        assertEquals(1, first.classAt(3, 5));
        assertEquals(0, first.classAt(4, 5));
        assertTrue(r.imagesPerSecond() > 0);
        assertEquals(100 * 31.0 / 32, r.report().meanIou(), 1e-9);
        String json = JsonReport.toJson(r.report());
        assertTrue(json.contains("\"red\" : 96.875"), json);
    }

    /**
     * Reference masks: left half 1 (32 px), right half 0 (32 px); test: all 0. With the reference as
     * truth: IoU(0) = 32 / (32 + 64 - 32) = 1/2, IoU(1) = 0 / 32 = 0; mIoU 1/4; agreement 1/2.
     */
    @Test
    void fidelityComparesTestMasksWithReferenceMasks() {
        dataset(2);
        SegmentationDataset ds = SegmentationDataset.photographs(dir);
        assertEquals(List.of("p0", "p1"), ds.samples().stream().map(SegmentationSample::name).toList());
        SegmentationEvaluator base = new SegmentationEvaluator("fp32", RED_IS_CLASS_1, INPUT,
                Preprocessing.RESIZE, 4).withProgress(null).withRetainedMasks(true);
        SegmentationResult reference = base.evaluate(ds);
        assertFalse(reference.hasGroundTruth());
        SegmentationResult same = base.evaluate(ds);
        assertEquals(1.0, SegmentationFidelity.compare(reference, same).meanIou(), 1e-12);

        SegmentationResult damaged = new SegmentationEvaluator("int8", ALL_BACKGROUND, INPUT, Preprocessing.RESIZE, 4)
                .withProgress(null).withRetainedMasks(true).evaluate(ds);
        ConfusionMatrix m = SegmentationFidelity.compare(reference, damaged);
        assertEquals(0.25, m.meanIou(), 1e-12);
        assertEquals(0.5, m.pixelAccuracy(), 1e-12);
    }

    @Test
    void maskOfAnotherSizeIsReportedByName() {
        TestImages.write(TestImages.solid(8, 8, 0), "png", dir.resolve("q.png"));
        SegmentationDatasetTest.writePaletteMask(dir.resolve("q_mask.png"), 4, 4, new int[16]);
        SegmentationDataset ds = SegmentationDataset.of("t", List.of(new SegmentationSample("q", dir.resolve("q.png"),
                Optional.of(dir.resolve("q_mask.png")))));
        DfqException e = assertThrows(DfqException.class, () -> new SegmentationEvaluator("m", RED_IS_CLASS_1, INPUT,
                Preprocessing.RESIZE, 1).withProgress(null).evaluate(ds));
        assertTrue(e.getMessage().contains("q_mask.png") && e.getMessage().contains("4x4"), e.getMessage());
    }

    @Test
    void nonSegmentationOutputIsRejected() {
        SegmentationDataset ds = dataset(1);
        DfqException e = assertThrows(DfqException.class, () -> new SegmentationEvaluator("clf",
                b -> Nd4j.zeros(b.size(0), 10), INPUT, Preprocessing.RESIZE, 1).withProgress(null).evaluate(ds));
        assertTrue(e.getMessage().contains("clf"), e.getMessage());
    }
}
