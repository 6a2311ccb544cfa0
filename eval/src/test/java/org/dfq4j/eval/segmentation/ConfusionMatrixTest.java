package org.dfq4j.eval.segmentation;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import org.dfq4j.rewrite.DfqException;
import org.junit.jupiter.api.Test;

class ConfusionMatrixTest {

    private static final int I = LabelMask.IGNORE;

    /**
     * Three classes (0 background, 1 object, 2 never seen), 4x4, one ignored pixel.
     *
     * <pre>
     * truth        prediction
     * 0 0 1 1      0 0 0 1
     * 0 0 1 1      0 0 1 1
     * 0 0 1 1      0 1 1 1
     * 0 0 I 1      0 0 0 1
     * </pre>
     *
     * Counted pixels: 15 (the ignored one left out, whatever was predicted there).
     * Truth 0 (8 px): 7 predicted 0, 1 predicted 1 (row 2, column 1).
     * Truth 1 (7 px): 6 predicted 1, 1 predicted 0 (row 0, column 2).
     * IoU(0) = 7 / (8 + 8 - 7) = 7/9; IoU(1) = 6 / (7 + 7 - 6) = 6/8; class 2 absent: NaN, excluded.
     * mIoU = (7/9 + 3/4) / 2 = 55/72 (were class 2 counted as 0 it would be 55/108).
     * Pixel accuracy = (7 + 6) / 15 = 13/15.
     */
    @Test
    void handWorkedFourByFour() {
        LabelMask truth = LabelMask.of(4, 4,
                0, 0, 1, 1,
                0, 0, 1, 1,
                0, 0, 1, 1,
                0, 0, I, 1);
        LabelMask predicted = LabelMask.of(4, 4,
                0, 0, 0, 1,
                0, 0, 1, 1,
                0, 1, 1, 1,
                0, 0, 0, 1);
        ConfusionMatrix m = new ConfusionMatrix(3);
        m.add(truth, predicted, "test");

        assertEquals(15, m.total());
        assertEquals(7, m.count(0, 0));
        assertEquals(1, m.count(0, 1));
        assertEquals(1, m.count(1, 0));
        assertEquals(6, m.count(1, 1));
        assertEquals(7.0 / 9, m.iou(0), 1e-12);
        assertEquals(6.0 / 8, m.iou(1), 1e-12);
        assertTrue(Double.isNaN(m.iou(2)));
        assertFalse(m.present(2));
        assertEquals(55.0 / 72, m.meanIou(), 1e-12);
        assertEquals(13.0 / 15, m.pixelAccuracy(), 1e-12);
    }

    @Test
    void countsAccumulateOverImages() {
        ConfusionMatrix m = new ConfusionMatrix(2);
        m.add(LabelMask.of(2, 1, 0, 1), LabelMask.of(2, 1, 0, 1), "a");
        m.add(LabelMask.of(2, 1, 1, 1), LabelMask.of(2, 1, 0, 0), "b");
        // counts: [0][0]=1, [1][1]=1, [1][0]=2. IoU0 = 1/(1+3-1) = 1/3, IoU1 = 1/(3+1-1) = 1/3.
        assertEquals(1.0 / 3, m.meanIou(), 1e-12);
        assertEquals(0.5, m.pixelAccuracy(), 1e-12);
    }

    @Test
    void sizeMismatchAndUnknownClassNameTheMask() {
        ConfusionMatrix m = new ConfusionMatrix(2);
        DfqException size = assertThrows(DfqException.class,
                () -> m.add(LabelMask.of(2, 1, 0, 0), LabelMask.of(1, 2, 0, 0), "m.png"));
        assertTrue(size.getMessage().contains("m.png"), size.getMessage());
        DfqException id = assertThrows(DfqException.class,
                () -> m.add(LabelMask.of(2, 1, 0, 7), LabelMask.of(2, 1, 0, 0), "n.png"));
        assertTrue(id.getMessage().contains("n.png") && id.getMessage().contains("7"), id.getMessage());
    }
}
