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
import java.util.ArrayList;
import java.util.Iterator;
import java.util.List;
import java.util.regex.Pattern;
import javax.imageio.ImageIO;
import javax.imageio.ImageReader;
import javax.imageio.stream.ImageInputStream;
import org.dfq4j.rewrite.DfqException;

/**
 * Decodes a photograph (JPEG, PNG, BMP: whatever javax.imageio reads, CMYK and YCCK JPEGs included
 * through the TwelveMonkeys plugin) into an 8-bit RGB image of type {@link BufferedImage#TYPE_INT_RGB}.
 *
 * <p>A damaged file is an error, never a partly grey image: javax.imageio decodes a truncated JPEG
 * without an exception, filling the missing part, and only warns ("Premature end of JPEG file",
 * "Corrupt JPEG data: premature end of data segment", "bad Huffman code"); such warnings are
 * treated as damage. Harmless warnings are not: a missing colour profile, or extraneous bytes
 * before a marker (the image data is whole).
 *
 * <p>Conversion: grey samples are replicated to R, G and B without any gamma change (Java's own
 * {@code getRGB} on a grey image brightens it: 184 becomes 221), samples of more than 8 bits are
 * rescaled to 0..255, palette images are looked up, and alpha is dropped, keeping the colour as
 * stored.
 */
public final class RgbDecoder {

    private RgbDecoder() {
    }

    /**
     * Reads a photograph as RGB.
     *
     * @throws DfqException naming the file when it is missing ({@link DamagedImageException} when it
     *                      is not an image, damaged or truncated)
     */
    public static BufferedImage read(Path file) {
        if (!Files.isRegularFile(file)) {
            throw new DfqException("image " + file + " does not exist or is not a regular file");
        }
        BufferedImage image;
        List<String> warnings = new ArrayList<>();
        try (ImageInputStream in = ImageIO.createImageInputStream(file.toFile())) {
            Iterator<ImageReader> readers = in == null ? null : ImageIO.getImageReaders(in);
            if (readers == null || !readers.hasNext()) {
                throw new DamagedImageException("image " + file + " is not an image this program can read (JPEG, PNG"
                        + " or BMP); remove it or convert it");
            }
            ImageReader reader = readers.next();
            try {
                reader.addIIOReadWarningListener((source, warning) -> {
                    if (DAMAGE.matcher(warning).find() && !warning.contains("extraneous bytes")) {
                        warnings.add(warning);
                    }
                });
                reader.setInput(in, true, true);
                image = reader.read(0);
            } finally {
                reader.dispose();
            }
        } catch (IOException | RuntimeException e) {
            if (e instanceof DfqException d) {
                throw d;
            }
            String why = e.getMessage() == null ? e.getClass().getSimpleName() : e.getMessage();
            throw new DamagedImageException("image " + file + " cannot be decoded (" + oneLine(why) + "): the file is"
                    + " damaged, truncated or of an unsupported kind; remove it or convert it", e);
        }
        if (!warnings.isEmpty()) {
            throw new DamagedImageException("image " + file + " is damaged or truncated (" + oneLine(warnings.get(0))
                    + "): remove it or replace it");
        }
        return toRgb(image);
    }

    /** Reader warnings that mean the picture is incomplete or wrong. */
    private static final Pattern DAMAGE = Pattern.compile("(?i)premature end|truncat|corrupt|huffman|invalid|bad ");

    private static String oneLine(String s) {
        return s.replaceAll("\\s+", " ").trim();
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
