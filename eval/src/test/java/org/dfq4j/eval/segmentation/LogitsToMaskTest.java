package org.dfq4j.eval.segmentation;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;

import org.junit.jupiter.api.Test;

class LogitsToMaskTest {

    /**
     * 2x2 logits resized to 4x4 with half-pixel centres: output i samples source
     * s = (i + 0.5) / 2 - 0.5 = -0.25 (clamped to 0), 0.25, 0.75, 1.25 (clamped to the last pixel).
     * Class 0 is 0.2 everywhere; class 1 is [[1, -3], [-1, -1]].
     *
     * <pre>
     * row 0 (s = 0):    x=0: 1 -> 1;  x=1: 0.75*1 + 0.25*(-3) = 0 -> class 0 (0.2 wins)
     * row 1 (s = 0.25): column 0 = 0.75*1 + 0.25*(-1) = 0.5, column 1 = 0.75*(-3) + 0.25*(-1) = -2.5
     *                   x=0: 0.5 -> 1;  x=1: 0.75*0.5 + 0.25*(-2.5) = -0.25 -> 0
     * row 2 (s = 0.75): column 0 = 0.25*1 + 0.75*(-1) = -0.5 -> 0 everywhere
     * row 3:            -1 -> 0
     * </pre>
     *
     * Nearest-neighbour upsampling of the argmax would instead give a 2x2 block of class 1.
     */
    @Test
    void bilinearOnLogitsThenArgmax() {
        float[] logits = {
            0.2f, 0.2f, 0.2f, 0.2f,
            1f, -3f, -1f, -1f};
        LabelMask m = LogitsToMask.argmax(logits, 0, 2, 2, 2, 4, 4);
        assertArrayEquals(new int[] {
            1, 0, 0, 0,
            1, 0, 0, 0,
            0, 0, 0, 0,
            0, 0, 0, 0}, m.toIntArray());
    }

    @Test
    void sameSizeIsPlainArgmaxAndOffsetSelectsTheImage() {
        // two images of [3 classes, 1 x 2]; the second starts at offset 6
        // image 2: class 0 = [0, 5], class 1 = [1, 0], class 2 = [2, 4] -> pixel 0: class 2, pixel 1: class 0
        float[] logits = {9, 9, 0, 0, 0, 0, /* image 2 */ 0, 5, 1, 0, 2, 4};
        LabelMask m = LogitsToMask.argmax(logits, 6, 3, 1, 2, 1, 2);
        assertEquals(2, m.classAt(0, 0));
        assertEquals(0, m.classAt(1, 0));
    }
}
