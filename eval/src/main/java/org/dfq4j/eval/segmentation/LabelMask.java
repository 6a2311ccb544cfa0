package org.dfq4j.eval.segmentation;

import java.awt.image.BufferedImage;
import java.awt.image.Raster;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import javax.imageio.ImageIO;
import org.dfq4j.rewrite.DfqException;

/**
 * A per-pixel class map: {@code width x height} class ids 0..254 in row-major order, with
 * {@link #IGNORE} (255) marking pixels that no metric counts (VOC's object boundaries). Immutable.
 */
public final class LabelMask implements java.io.Serializable {

    private static final long serialVersionUID = 1L;

    /** The class id of pixels left out of every metric. */
    public static final int IGNORE = 255;

    private final int width;
    private final int height;
    private final byte[] classes;

    /**
     * @param classes {@code width * height} class ids (read as unsigned bytes); copied
     */
    public LabelMask(int width, int height, byte[] classes) {
        if (width < 1 || height < 1 || classes.length != (long) width * height) {
            throw new IllegalArgumentException("a " + width + "x" + height + " mask needs " + (long) width * height
                    + " class ids, got " + classes.length);
        }
        this.width = width;
        this.height = height;
        this.classes = classes.clone();
    }

    /** A mask from class ids given as ints (0..255), row-major. */
    public static LabelMask of(int width, int height, int... ids) {
        byte[] b = new byte[ids.length];
        for (int i = 0; i < ids.length; i++) {
            if (ids[i] < 0 || ids[i] > IGNORE) {
                throw new IllegalArgumentException("class id " + ids[i] + " at pixel " + i + " is not in 0..255");
            }
            b[i] = (byte) ids[i];
        }
        return new LabelMask(width, height, b);
    }

    /**
     * Reads a mask image: the class id of a pixel is its raster sample (the palette INDEX of a
     * palette PNG or BMP, the grey value of a grey image), never its displayed colour.
     *
     * @throws DfqException naming the file when it is missing, not an image, has more than one band
     *     (an RGB picture of a mask) or holds a sample above 255
     */
    public static LabelMask read(Path file) {
        if (!Files.isRegularFile(file)) {
            throw new DfqException("mask " + file + " does not exist or is not a regular file");
        }
        BufferedImage image;
        try {
            image = ImageIO.read(file.toFile());
        } catch (IOException | RuntimeException e) {
            throw new DfqException("mask " + file + " cannot be decoded (" + e.getMessage()
                    + "); give a palette or grey PNG/BMP of class ids", e);
        }
        if (image == null) {
            throw new DfqException("mask " + file + " is not an image javax.imageio can read; give a palette or grey"
                    + " PNG/BMP of class ids");
        }
        Raster raster = image.getRaster();
        if (raster.getNumBands() != 1) {
            throw new DfqException("mask " + file + " has " + raster.getNumBands() + " bands; a mask must be a"
                    + " single-band palette or grey image whose sample values are class ids (not colours)");
        }
        int w = image.getWidth();
        int h = image.getHeight();
        int[] samples = raster.getSamples(raster.getMinX(), raster.getMinY(), w, h, 0, (int[]) null);
        byte[] ids = new byte[samples.length];
        for (int i = 0; i < samples.length; i++) {
            if (samples[i] < 0 || samples[i] > IGNORE) {
                throw new DfqException("mask " + file + " has class id " + samples[i] + " at pixel (" + i % w + ","
                        + i / w + "); class ids must be 0..254, with 255 = ignore");
            }
            ids[i] = (byte) samples[i];
        }
        return new LabelMask(w, h, ids);
    }

    public int width() {
        return width;
    }

    public int height() {
        return height;
    }

    /** The class id (0..255) of pixel (x, y). */
    public int classAt(int x, int y) {
        return classes[y * width + x] & 0xFF;
    }

    /** The class id (0..255) of the pixel at row-major index i. */
    public int classAt(int i) {
        return classes[i] & 0xFF;
    }

    /** Number of pixels. */
    public int size() {
        return classes.length;
    }

    /** A copy of the class ids as unsigned ints, row-major. */
    public int[] toIntArray() {
        int[] a = new int[classes.length];
        for (int i = 0; i < a.length; i++) {
            a[i] = classes[i] & 0xFF;
        }
        return a;
    }

    /** The largest class id other than {@link #IGNORE}, or -1 when every pixel is ignored. */
    public int maxClass() {
        int max = -1;
        for (byte b : classes) {
            int c = b & 0xFF;
            if (c != IGNORE && c > max) {
                max = c;
            }
        }
        return max;
    }

    @Override
    public boolean equals(Object o) {
        return o instanceof LabelMask m && m.width == width && m.height == height && Arrays.equals(m.classes, classes);
    }

    @Override
    public int hashCode() {
        return 31 * (31 * width + height) + Arrays.hashCode(classes);
    }

    @Override
    public String toString() {
        return "LabelMask[" + width + "x" + height + "]";
    }
}
