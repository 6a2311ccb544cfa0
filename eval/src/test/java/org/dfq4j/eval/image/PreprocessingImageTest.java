package org.dfq4j.eval.image;

import static org.dfq4j.eval.TestImages.pack;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.awt.Rectangle;
import java.nio.file.Path;
import org.dfq4j.eval.TestImages;
import org.dfq4j.rewrite.DfqException;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

class PreprocessingImageTest {

    @TempDir
    Path dir;

    @Test
    void squareCropTakesTheFractionOfTheShorterSideCentred() {
        Preprocessing p = Preprocessing.parse("crop=0.875");
        // 500 x 375: side 0.875 * 375 = 328.125 -> 328, left (500 - 328) / 2 = 86, top (375 - 328) / 2 = 23
        assertEquals(new Rectangle(86, 23, 328, 328), p.cropRegion(500, 375, 224, 224));
        // portrait 333 x 500: side 291.375 -> 291, left 21, top 104
        assertEquals(new Rectangle(21, 104, 291, 291), p.cropRegion(333, 500, 224, 224));
    }

    @Test
    void cropKeepsTheTargetAspectRatio() {
        Preprocessing p = Preprocessing.parse("crop=0.5");
        // target 2:1 (w:h) from 400 x 400: width 0.5 * 400 = 200, height 100
        assertEquals(new Rectangle(100, 150, 200, 100), p.cropRegion(400, 400, 10, 20));
        // target 1:2 from a wide 400 x 100 image: height 50, width 25
        assertEquals(new Rectangle(187, 25, 25, 50), p.cropRegion(400, 100, 20, 10));
    }

    @Test
    void noCropUsesTheWholeImage() {
        assertEquals(new Rectangle(0, 0, 640, 480), Preprocessing.RESIZE.cropRegion(640, 480, 257, 257));
    }

    @Test
    void gradientIsCroppedAndResizedToTheExpectedValues() {
        // R = x, G = y, B = 255 - x on a 256 x 256 image; crop 0.5 keeps x, y in [64, 192)
        Path file = TestImages.write(TestImages.rgb(256, 256, (x, y) -> pack(x, y, 255 - x)), "png",
                dir.resolve("gradient.png"));
        Preprocessing p = Preprocessing.parse("inception,crop=0.5");
        int size = 8;
        float[] chw = p.load(file, size, size);
        assertEquals(3 * size * size, chw.length);
        int plane = size * size;
        for (int v : new int[] {0, size / 2, size - 1}) {
            for (int u : new int[] {0, size / 2, size - 1}) {
                // output pixel u's centre is source column 64 + (u + 0.5) * 128 / 8 - 0.5 in pixel-centre coordinates;
                // a linear ramp stays linear under bilinear interpolation
                double x = 64 + (u + 0.5) * 16 - 0.5;
                double y = 64 + (v + 0.5) * 16 - 0.5;
                int i = v * size + u;
                assertEquals(x / 127.5 - 1, chw[i], 1.01 / 127.5, "R at " + u + "," + v);
                assertEquals(y / 127.5 - 1, chw[plane + i], 1.01 / 127.5, "G at " + u + "," + v);
                assertEquals((255 - x) / 127.5 - 1, chw[2 * plane + i], 1.01 / 127.5, "B at " + u + "," + v);
            }
        }
        for (float f : chw) {
            assertTrue(f >= -1 && f <= 1, "value out of [-1, 1]: " + f);
        }
    }

    @ParameterizedTest
    @EnumSource(ResizeFilter.class)
    void quadrantsKeepTheirColoursAndNothingOutsideTheCropLeaksIn(ResizeFilter filter) {
        // 64 x 32 image, black outside the centre 16 x 16 square (x 24..39, y 8..23), which has four
        // 8 x 8 quadrants: red, green / blue, yellow. crop 0.5 of the shorter side selects exactly that square.
        int red = pack(255, 0, 0);
        int green = pack(0, 255, 0);
        int blue = pack(0, 0, 255);
        int yellow = pack(255, 255, 0);
        Path file = TestImages.write(TestImages.rgb(64, 32, (x, y) -> {
            if (x < 24 || x >= 40 || y < 8 || y >= 24) {
                return 0;
            }
            boolean left = x < 32;
            boolean top = y < 16;
            return top ? (left ? red : green) : (left ? blue : yellow);
        }), "png", dir.resolve("quadrants.png"));
        Preprocessing p = Preprocessing.parse("unit,crop=0.5,filter=" + filter.specName());
        assertEquals(new Rectangle(24, 8, 16, 16), p.cropRegion(64, 32, 8, 8));
        int size = 8;
        float[] chw = p.load(file, size, size);
        int plane = size * size;
        int[][] corners = {{0, 0, red}, {size - 1, 0, green}, {0, size - 1, blue}, {size - 1, size - 1, yellow}};
        for (int[] c : corners) {
            int i = c[1] * size + c[0];
            assertEquals(((c[2] >> 16) & 255) / 255f, chw[i], 1e-6, "R of corner " + c[0] + "," + c[1]);
            assertEquals(((c[2] >> 8) & 255) / 255f, chw[plane + i], 1e-6, "G of corner " + c[0] + "," + c[1]);
            assertEquals((c[2] & 255) / 255f, chw[2 * plane + i], 1e-6, "B of corner " + c[0] + "," + c[1]);
        }
        // every output pixel along the top edge mixes only red and green: B stays 0 and R + G stays 1
        // (bilinear/bicubic blend them; nothing black from outside the crop may enter)
        for (int u = 0; u < size; u++) {
            assertEquals(0, chw[2 * plane + u], 1e-6);
            assertEquals(1, chw[u] + chw[plane + u], filter == ResizeFilter.BICUBIC ? 0.05 : 2.01 / 255,
                    "R + G at top edge pixel " + u);
        }
    }

    @Test
    void outputSizeComesFromTheTargetNotTheImage() {
        Path file = TestImages.write(TestImages.solid(37, 23, pack(10, 20, 30)), "png", dir.resolve("small.png"));
        float[] chw = Preprocessing.parse("crop=none").load(file, 5, 7);
        assertEquals(3 * 5 * 7, chw.length);
        for (int i = 0; i < 35; i++) {
            assertEquals(10f, chw[i]);
            assertEquals(20f, chw[35 + i]);
            assertEquals(30f, chw[70 + i]);
        }
    }

    @Test
    void modelsThatAreNotRgbAreRejected() {
        DfqException e = assertThrows(DfqException.class, () -> Preprocessing.checkInputShape(new long[] {1, 28, 28}));
        assertTrue(e.getMessage().contains("[1, 28, 28]"), e.getMessage());
        Preprocessing.checkInputShape(new long[] {3, 224, 224});
    }
}
