package org.dfq4j.eval.overlay;

import java.awt.image.BufferedImage;
import java.awt.image.DataBufferInt;
import org.dfq4j.eval.image.RgbDecoder;
import org.dfq4j.eval.segmentation.LabelMask;
import org.dfq4j.rewrite.DfqException;

/**
 * Paints a class mask over a photograph: each pixel of a class other than the background (0) and
 * {@link LabelMask#IGNORE} is alpha-blended with its class colour from the Pascal VOC palette
 * (class bits spread over the high bits of R, G and B: 1 = dark red, 2 = dark green, 15 = person
 * pink, ...).
 */
public final class MaskPainter {

    /** The weight of the class colour in the blend. */
    public static final float DEFAULT_ALPHA = 0.5f;

    private MaskPainter() {
    }

    /** The VOC palette colour of a class id, as 0xRRGGBB. */
    public static int vocColour(int classId) {
        int r = 0;
        int g = 0;
        int b = 0;
        int c = classId;
        for (int bit = 7; bit >= 0; bit--) {
            r |= (c & 1) << bit;
            g |= ((c >> 1) & 1) << bit;
            b |= ((c >> 2) & 1) << bit;
            c >>= 3;
        }
        return (r << 16) | (g << 8) | b;
    }

    /**
     * A new RGB image: the photograph with the mask blended over it.
     *
     * @param alpha the class colour's weight in [0, 1]
     * @throws DfqException when the mask's size differs from the photograph's
     */
    public static BufferedImage paint(BufferedImage photo, LabelMask mask, float alpha) {
        if (mask.width() != photo.getWidth() || mask.height() != photo.getHeight()) {
            throw new DfqException("mask " + mask.width() + "x" + mask.height() + " does not fit the "
                    + photo.getWidth() + "x" + photo.getHeight() + " photograph it should be painted over");
        }
        BufferedImage src = RgbDecoder.toRgb(photo);
        BufferedImage out = new BufferedImage(src.getWidth(), src.getHeight(), BufferedImage.TYPE_INT_RGB);
        int[] in = ((DataBufferInt) src.getRaster().getDataBuffer()).getData();
        int[] dst = ((DataBufferInt) out.getRaster().getDataBuffer()).getData();
        for (int i = 0; i < dst.length; i++) {
            int c = mask.classAt(i);
            dst[i] = c == 0 || c == LabelMask.IGNORE ? in[i] : blend(in[i], vocColour(c), alpha);
        }
        return out;
    }

    private static int blend(int rgb, int colour, float alpha) {
        int r = Math.round((1 - alpha) * ((rgb >> 16) & 0xFF) + alpha * ((colour >> 16) & 0xFF));
        int g = Math.round((1 - alpha) * ((rgb >> 8) & 0xFF) + alpha * ((colour >> 8) & 0xFF));
        int b = Math.round((1 - alpha) * (rgb & 0xFF) + alpha * (colour & 0xFF));
        return (r << 16) | (g << 8) | b;
    }
}
