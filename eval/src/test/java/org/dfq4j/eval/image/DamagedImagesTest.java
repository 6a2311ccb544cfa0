package org.dfq4j.eval.image;

import static org.dfq4j.eval.TestImages.pack;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.awt.image.BufferedImage;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import org.dfq4j.eval.TestImages;
import org.dfq4j.rewrite.DfqException;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** A damaged photograph is an error naming the file, never a silently grey or half image; CMYK JPEGs decode. */
class DamagedImagesTest {

    @TempDir
    Path dir;

    private Path photo(String name, String format) {
        BufferedImage im = TestImages.rgb(64, 48, (x, y) -> pack((x * 4) & 255, (y * 5) & 255, ((x + y) * 3) & 255));
        return TestImages.write(im, format, dir.resolve(name));
    }

    private static void refusedNaming(Path f, String what) {
        DfqException e = assertThrows(DfqException.class, () -> RgbDecoder.read(f));
        assertTrue(e.getMessage().contains(f.toString()), e.getMessage());
        assertTrue(e.getMessage().contains(what), e.getMessage());
        assertFalse(e.getMessage().contains("\n"), e.getMessage());
    }

    @Test
    void aTruncatedJpegIsAnErrorNamingTheFile() throws IOException {
        Path good = photo("good.jpg", "jpg");
        RgbDecoder.read(good);
        byte[] all = Files.readAllBytes(good);
        for (double keep : new double[] {0.9, 0.6, 0.3}) {
            Path cut = Files.write(dir.resolve("cut" + keep + ".jpg"), Arrays.copyOf(all, (int) (all.length * keep)));
            refusedNaming(cut, "truncated");
        }
    }

    @Test
    void truncatedPngAndBmpAreErrorsToo() throws IOException {
        for (String format : new String[] {"png", "bmp"}) {
            byte[] all = Files.readAllBytes(photo("good." + format, format));
            Path cut = Files.write(dir.resolve("cut." + format), Arrays.copyOf(all, all.length * 2 / 3));
            DfqException e = assertThrows(DfqException.class, () -> RgbDecoder.read(cut));
            assertTrue(e.getMessage().contains(cut.toString()), e.getMessage());
        }
    }

    @Test
    void aCmykJpegDecodesToItsColours() throws Exception {
        Path f = Path.of(getClass().getResource("/images/cmyk.jpg").toURI());
        BufferedImage im = RgbDecoder.read(f);
        assertEquals(32, im.getWidth());
        assertEquals(16, im.getHeight());
        int left = im.getRGB(4, 8);
        int right = im.getRGB(28, 8);
        // red (220,30,30) and blue (30,30,220) after a CMYK round trip: within a few levels
        assertTrue(near(left, 220, 30, 30, 24), Integer.toHexString(left));
        assertTrue(near(right, 30, 30, 220, 24), Integer.toHexString(right));
    }

    private static boolean near(int rgb, int r, int g, int b, int tol) {
        return Math.abs(((rgb >> 16) & 255) - r) <= tol && Math.abs(((rgb >> 8) & 255) - g) <= tol
                && Math.abs((rgb & 255) - b) <= tol;
    }
}
