package org.dfq4j.eval.image;

import static org.dfq4j.eval.TestImages.pack;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.awt.image.BufferedImage;
import java.awt.image.IndexColorModel;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Random;
import org.dfq4j.eval.TestImages;
import org.dfq4j.rewrite.DfqException;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class RgbDecoderTest {

    @TempDir
    Path dir;

    /** The image written as {@code format} to {@code name} and decoded back. */
    private BufferedImage decoded(BufferedImage image, String format, String name) {
        return RgbDecoder.read(TestImages.write(image, format, dir.resolve(name)));
    }

    /** Pixel (x, y) of a decoded image is (r, g, b). */
    private static void assertRgb(BufferedImage im, int x, int y, int r, int g, int b) {
        assertEquals(pack(r, g, b), im.getRGB(x, y) & 0xFFFFFF, "pixel " + x + "," + y);
    }

    @Test
    void rgbPngKeepsChannelOrder() {
        Path f = TestImages.write(TestImages.rgb(3, 2, (x, y) -> pack(10 * x, 20 * y, 7)), "png", dir.resolve("a.png"));
        BufferedImage im = RgbDecoder.read(f);
        assertEquals(BufferedImage.TYPE_INT_RGB, im.getType());
        assertRgb(im, 2, 1, 20, 20, 7);
    }

    @Test
    void bmpInBgrLayoutComesBackAsRgb() {
        BufferedImage bgr = new BufferedImage(2, 2, BufferedImage.TYPE_3BYTE_BGR);
        bgr.setRGB(1, 0, pack(200, 100, 50));
        Path f = TestImages.write(bgr, "bmp", dir.resolve("b.bmp"));
        assertEquals(pack(200, 100, 50), RgbDecoder.read(f).getRGB(1, 0) & 0xFFFFFF);
    }

    @Test
    void greyIsReplicatedWithoutGammaChange() {
        BufferedImage grey = new BufferedImage(2, 2, BufferedImage.TYPE_BYTE_GRAY);
        grey.getRaster().setSample(0, 0, 0, 184);
        grey.getRaster().setSample(1, 1, 0, 37);
        BufferedImage im = decoded(grey, "png", "grey.png");
        assertRgb(im, 0, 0, 184, 184, 184);
        assertRgb(im, 1, 1, 37, 37, 37);
    }

    @Test
    void sixteenBitGreyIsRescaledTo8Bits() {
        BufferedImage grey = new BufferedImage(1, 1, BufferedImage.TYPE_USHORT_GRAY);
        grey.getRaster().setSample(0, 0, 0, 0x8080); // 32896 / 65535 * 255 = 128.0
        Path f = TestImages.write(grey, "png", dir.resolve("grey16.png"));
        assertEquals(pack(128, 128, 128), RgbDecoder.read(f).getRGB(0, 0) & 0xFFFFFF);
    }

    @Test
    void alphaIsDroppedKeepingTheStoredColour() {
        BufferedImage argb = new BufferedImage(2, 1, BufferedImage.TYPE_INT_ARGB);
        argb.setRGB(0, 0, 0x80000000 | pack(10, 20, 30));
        argb.setRGB(1, 0, 0xFF000000 | pack(250, 0, 5));
        BufferedImage im = decoded(argb, "png", "alpha.png");
        assertRgb(im, 0, 0, 10, 20, 30);
        assertRgb(im, 1, 0, 250, 0, 5);
    }

    @Test
    void paletteImagesAreLookedUp() {
        byte[] r = {(byte) 255, 0, 0};
        byte[] g = {0, (byte) 128, 0};
        byte[] b = {0, 0, (byte) 64};
        BufferedImage indexed = new BufferedImage(3, 1, BufferedImage.TYPE_BYTE_INDEXED,
                new IndexColorModel(8, 3, r, g, b));
        for (int x = 0; x < 3; x++) {
            indexed.getRaster().setSample(x, 0, 0, x);
        }
        BufferedImage im = decoded(indexed, "png", "palette.png");
        assertRgb(im, 0, 0, 255, 0, 0);
        assertRgb(im, 1, 0, 0, 128, 0);
        assertRgb(im, 2, 0, 0, 0, 64);
    }

    @Test
    void randomBytesAreRejectedNamingTheFile() throws IOException {
        byte[] junk = new byte[1000];
        new Random(1).nextBytes(junk);
        Path f = Files.write(dir.resolve("n01440764_junk.JPEG"), junk);
        DfqException e = assertThrows(DfqException.class, () -> RgbDecoder.read(f));
        assertTrue(e.getMessage().contains(f.toString()), e.getMessage());
    }

    @Test
    void corruptJpegIsRejectedNamingTheFile() throws IOException {
        byte[] junk = new byte[1000];
        new Random(2).nextBytes(junk);
        // a JPEG start-of-image and JFIF header, then garbage
        byte[] header = {(byte) 0xFF, (byte) 0xD8, (byte) 0xFF, (byte) 0xE0, 0, 16, 'J', 'F', 'I', 'F', 0};
        System.arraycopy(header, 0, junk, 0, header.length);
        Path f = Files.write(dir.resolve("broken.jpg"), junk);
        DfqException e = assertThrows(DfqException.class, () -> RgbDecoder.read(f));
        assertTrue(e.getMessage().contains(f.toString()), e.getMessage());
    }

    @Test
    void missingFileIsNamed() {
        Path f = dir.resolve("absent.png");
        DfqException e = assertThrows(DfqException.class, () -> RgbDecoder.read(f));
        assertTrue(e.getMessage().contains(f.toString()), e.getMessage());
    }
}
