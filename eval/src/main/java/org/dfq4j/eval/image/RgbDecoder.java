package org.dfq4j.eval.image;

import java.awt.color.ColorSpace;
import java.awt.image.BufferedImage;
import java.awt.image.ColorModel;
import java.awt.image.DataBufferInt;
import java.awt.image.IndexColorModel;
import java.awt.image.Raster;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import javax.imageio.ImageIO;
import org.dfq4j.rewrite.DfqException;

/**
 * Decodes a photograph (JPEG, PNG, BMP: whatever javax.imageio reads) into an 8-bit RGB image of
 * type {@link BufferedImage#TYPE_INT_RGB}.
 *
 * <p>Conversion: grey samples are replicated to R, G and B without any gamma change (Java's own
 * {@code getRGB} on a grey image brightens it: 184 becomes 221), samples of more than 8 bits are
 * rescaled to 0..255, palette images are looked up, and alpha is dropped, keeping the colour as
 * stored. CMYK JPEGs are not supported (javax.imageio cannot read them).
 */
public final class RgbDecoder {

    private RgbDecoder() {
    }

    /**
     * Reads a photograph as RGB.
     *
     * @throws DfqException naming the file when it is missing, not an image, or corrupt
     */
    public static BufferedImage read(Path file) {
        if (!Files.isRegularFile(file)) {
            throw new DfqException("image " + file + " does not exist or is not a regular file");
        }
        BufferedImage image;
        try {
            image = ImageIO.read(file.toFile());
        } catch (IOException | RuntimeException e) {
            throw new DfqException("image " + file + " cannot be decoded (" + e.getMessage()
                    + "): the file is corrupt or uses an unsupported encoding such as CMYK; convert it to RGB"
                    + " JPEG or PNG or remove it", e);
        }
        if (image == null) {
            throw new DfqException("image " + file + " is not an image javax.imageio can read (JPEG, PNG or BMP);"
                    + " remove it or convert it");
        }
        return toRgb(image);
    }

    /** Converts any BufferedImage to TYPE_INT_RGB as described in the class comment. */
    public static BufferedImage toRgb(BufferedImage src) {
        if (src.getType() == BufferedImage.TYPE_INT_RGB) {
            return src;
        }
        int w = src.getWidth();
        int h = src.getHeight();
        BufferedImage out = new BufferedImage(w, h, BufferedImage.TYPE_INT_RGB);
        int[] dst = ((DataBufferInt) out.getRaster().getDataBuffer()).getData();
        int[] row = new int[w];
        ColorModel cm = src.getColorModel();
        if (cm.getColorSpace().getType() == ColorSpace.TYPE_GRAY && !(cm instanceof IndexColorModel)) {
            Raster raster = src.getRaster();
            int max = (1 << cm.getComponentSize(0)) - 1;
            for (int y = 0; y < h; y++) {
                raster.getSamples(0, y, w, 1, 0, row);
                for (int x = 0; x < w; x++) {
                    int v = max == 255 ? row[x] : (int) Math.round(row[x] * 255.0 / max);
                    dst[y * w + x] = (v << 16) | (v << 8) | v;
                }
            }
        } else {
            for (int y = 0; y < h; y++) {
                src.getRGB(0, y, w, 1, row, 0, w);
                for (int x = 0; x < w; x++) {
                    dst[y * w + x] = row[x] & 0xFFFFFF;
                }
            }
        }
        return out;
    }
}
