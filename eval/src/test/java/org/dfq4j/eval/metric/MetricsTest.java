package org.dfq4j.eval.metric;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Random;
import org.junit.jupiter.api.Test;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;
import org.nd4j.linalg.indexing.NDArrayIndex;

class MetricsTest {

    @Test
    void rankingOrdersScoresBestFirst() {
        float[] s = {0.1f, 5f, -2f, 3f, 4f, 3f, Float.NaN, 0f};
        // 5 (index 1) > 4 (4) > 3 (3, lower index first of the tie) > 3 (5) > 0.1 (0)
        assertArrayEquals(new int[] {1, 4, 3, 5, 0}, Ranking.top(s, 0, s.length, 5));
        assertArrayEquals(new int[] {1}, Ranking.top(s, 0, s.length, 1));
        // a slice: elements 2..4 are -2, 3, 4 -> relative indices 2, 1, 0
        assertArrayEquals(new int[] {2, 1, 0}, Ranking.top(s, 2, 3, 5));
        // NaN ranks last
        assertArrayEquals(new int[] {1, 0}, Ranking.top(new float[] {Float.NaN, 1f}, 0, 2, 2));
    }

    @Test
    void rankingAgreesWithAFullSortOnRandomScores() {
        Random rnd = new Random(7);
        for (int t = 0; t < 50; t++) {
            int k = 1 + rnd.nextInt(30);
            float[] s = new float[k];
            for (int i = 0; i < k; i++) {
                s[i] = rnd.nextInt(10); // many ties
            }
            Integer[] order = new Integer[k];
            for (int i = 0; i < k; i++) {
                order[i] = i;
            }
            // stable sort by descending score: ties keep index order
            Arrays.sort(order, (a, b) -> Float.compare(s[b], s[a]));
            int[] expected = new int[Math.min(5, k)];
            for (int i = 0; i < expected.length; i++) {
                expected[i] = order[i];
            }
            assertArrayEquals(expected, Ranking.top(s, 0, k, 5));
        }
    }

    @Test
    void rankingOfAMatrixIsRowWise() {
        INDArray m = Nd4j.createFromArray(new float[][] {{1, 3, 2}, {9, 8, 7}});
        int[][] top = Ranking.top(m, 2);
        assertArrayEquals(new int[] {1, 2}, top[0]);
        assertArrayEquals(new int[] {0, 1}, top[1]);
    }

    @Test
    void topOneAndTopFiveOnHandMadeLogits() {
        // 10 classes, 4 images. Logits are built so the label has a chosen rank r (0 = best):
        // the label scores 50, r other classes score 60 and more, the rest score 0 or less.
        int classes = 10;
        int[] labels = {3, 7, 0, 9};
        int[] rankOfLabel = {0, 4, 5, 1};
        List<ImagePrediction> preds = new ArrayList<>();
        for (int i = 0; i < labels.length; i++) {
            float[] logits = new float[classes];
            int above = 0;
            for (int c = 0; c < classes; c++) {
                if (c == labels[i]) {
                    logits[c] = 50;
                } else if (above < rankOfLabel[i]) {
                    logits[c] = 60 + above++;
                } else {
                    logits[c] = -c;
                }
            }
            int[] ranked = Ranking.top(logits, 0, classes, 5);
            preds.add(new ImagePrediction("img" + i, labels[i], ranked));
        }
        // top-1: only image 0 (rank 0); top-5: ranks 0, 4 and 1 are within the first five, rank 5 is not
        assertEquals(25.0, Accuracy.topKPercent(preds, 1), 1e-12);
        assertEquals(75.0, Accuracy.topKPercent(preds, 5), 1e-12);
        assertEquals(50.0, Accuracy.topKPercent(preds, 2), 1e-12);
        assertTrue(preds.get(0).hit(1));
        assertFalse(preds.get(2).hit(5));
        assertEquals(3, preds.get(0).top1());
    }

    @Test
    void predictionIsImmutable() {
        int[] ranked = {4, 2};
        ImagePrediction p = new ImagePrediction("f", 2, ranked);
        ranked[0] = 9;
        p.ranked()[1] = 9;
        assertArrayEquals(new int[] {4, 2}, p.ranked());
    }

    @Test
    void sqnrOfIdenticalOutputsIsInfinite() {
        INDArray ref = Nd4j.rand(DataType.FLOAT, 4, 10);
        assertEquals(Double.POSITIVE_INFINITY, Fidelity.sqnrDb(ref, ref.dup()));
    }

    @Test
    void sqnrOfTenPercentErrorIsTwentyDecibels() {
        INDArray ref = Nd4j.ones(DataType.FLOAT, 3, 5);
        INDArray test = ref.mul(1.1);
        // sum(ref^2) / sum((0.1 ref)^2) = 100 -> 20 dB (0.1 is inexact in float: allow 1e-5 dB)
        assertEquals(20.0, Fidelity.sqnrDb(ref, test), 1e-5);
    }

    @Test
    void sqnrAccumulatedOverBatchesEqualsSqnrOfTheWhole() {
        INDArray ref = Nd4j.rand(DataType.FLOAT, 6, 8).subi(0.5);
        INDArray noise = Nd4j.rand(DataType.FLOAT, 6, 8).subi(0.5).muli(0.01);
        INDArray test = ref.add(noise);
        double signal = ref.castTo(DataType.DOUBLE).norm2Number().doubleValue();
        double err = ref.castTo(DataType.DOUBLE).sub(test.castTo(DataType.DOUBLE)).norm2Number().doubleValue();
        double expected = 20 * Math.log10(signal / err);
        Fidelity.Sqnr acc = new Fidelity.Sqnr();
        acc.add(ref.get(NDArrayIndex.interval(0, 2)),
                test.get(NDArrayIndex.interval(0, 2)));
        acc.add(ref.get(NDArrayIndex.interval(2, 6)),
                test.get(NDArrayIndex.interval(2, 6)));
        assertEquals(expected, acc.db(), 1e-9);
        assertEquals(expected, Fidelity.sqnrDb(ref, test), 1e-9);
    }

    @Test
    void sqnrRejectsDifferentShapes() {
        assertThrows(IllegalArgumentException.class,
                () -> Fidelity.sqnrDb(Nd4j.ones(2, 3), Nd4j.ones(3, 2)));
    }

    @Test
    void agreementCountsSameTopOne() {
        List<ImagePrediction> a = List.of(new ImagePrediction("a", 0, new int[] {1, 2}),
                new ImagePrediction("b", 0, new int[] {3, 1}), new ImagePrediction("c", 5, new int[] {5}),
                new ImagePrediction("d", 5, new int[] {4}));
        // same top-1 for a and c (b differs, d differs) even though the second choices differ
        List<ImagePrediction> b = List.of(new ImagePrediction("a", 0, new int[] {1, 7}),
                new ImagePrediction("b", 0, new int[] {1, 3}), new ImagePrediction("c", 5, new int[] {5, 4}),
                new ImagePrediction("d", 5, new int[] {5}));
        assertEquals(50.0, Fidelity.top1AgreementPercent(a, b), 1e-12);
        assertEquals(100.0, Fidelity.top1AgreementPercent(a, a), 1e-12);
        assertThrows(IllegalArgumentException.class, () -> Fidelity.top1AgreementPercent(a, b.subList(0, 3)));
        List<ImagePrediction> renamed = List.of(new ImagePrediction("x", 0, new int[] {1}), b.get(1), b.get(2),
                b.get(3));
        assertThrows(IllegalArgumentException.class, () -> Fidelity.top1AgreementPercent(a, renamed));
    }
}
