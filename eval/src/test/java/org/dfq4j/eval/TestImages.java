package org.dfq4j.eval;

import java.awt.image.BufferedImage;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Path;
import java.util.function.IntBinaryOperator;
import javax.imageio.ImageIO;

/** Synthetic photographs for tests, written with javax.imageio. */
public final class TestImages {

    private TestImages() {
    }

    /** A TYPE_INT_RGB image whose pixel (x, y) is {@code rgb.applyAsInt(x, y)} (0xRRGGBB). */
    public static BufferedImage rgb(int width, int height, IntBinaryOperator rgb) {
        BufferedImage im = new BufferedImage(width, height, BufferedImage.TYPE_INT_RGB);
        for (int y = 0; y < height; y++) {
            for (int x = 0; x < width; x++) {
                im.setRGB(x, y, rgb.applyAsInt(x, y));
            }
        }
        return im;
    }

    /** An image of one colour (0xRRGGBB). */
    public static BufferedImage solid(int width, int height, int rgb) {
        return rgb(width, height, (x, y) -> rgb);
    }

    public static int pack(int r, int g, int b) {
        return (r << 16) | (g << 8) | b;
    }

    /** Writes an image in a format ImageIO knows ("png", "bmp", "jpeg") and returns the path. */
    public static Path write(BufferedImage image, String format, Path file) {
        try {
            if (!ImageIO.write(image, format, file.toFile())) {
                throw new IllegalStateException("no ImageIO writer for " + format + " and image type " + image.getType());
            }
            return file;
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }
}
