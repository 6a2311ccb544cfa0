package org.dfq4j.eval.overlay;

import java.awt.BasicStroke;
import java.awt.Color;
import java.awt.Font;
import java.awt.FontMetrics;
import java.awt.Graphics2D;
import java.awt.RenderingHints;
import java.awt.image.BufferedImage;
import java.util.List;
import java.util.Locale;
import org.dfq4j.eval.detection.Box;
import org.dfq4j.eval.detection.Detection;
import org.dfq4j.eval.detection.LabelMap;
import org.dfq4j.eval.image.RgbDecoder;

/**
 * Draws detections over a photograph: for each detection scoring at least a minimum, its box in a
 * colour of its class and a filled tag above it with the class name and score ("dog 0.87").
 */
public final class BoxPainter {

    /** Detections scoring below this are not drawn by default. */
    public static final float DEFAULT_MIN_SCORE = 0.5f;

    private BoxPainter() {
    }

    /** A saturated colour per class id, spread around the hue circle by the golden ratio. */
    public static Color classColour(int classId) {
        float hue = (float) ((classId * 0.6180339887) % 1.0);
        return Color.getHSBColor(hue, 0.85f, 0.95f);
    }

    /**
     * A new RGB image: the photograph with the detections drawn, lowest score first so the best
     * ones end on top.
     *
     * @param labels names the classes; null for "class i"
     */
    public static BufferedImage paint(BufferedImage photo, List<Detection> detections, LabelMap labels,
                                      float minScore) {
        BufferedImage src = RgbDecoder.toRgb(photo);
        int w = src.getWidth();
        int h = src.getHeight();
        BufferedImage out = new BufferedImage(w, h, BufferedImage.TYPE_INT_RGB);
        Graphics2D g = out.createGraphics();
        try {
            g.drawImage(src, 0, 0, null);
            g.setRenderingHint(RenderingHints.KEY_ANTIALIASING, RenderingHints.VALUE_ANTIALIAS_ON);
            g.setRenderingHint(RenderingHints.KEY_TEXT_ANTIALIASING, RenderingHints.VALUE_TEXT_ANTIALIAS_ON);
            float stroke = Math.max(2f, Math.min(w, h) / 200f);
            g.setStroke(new BasicStroke(stroke));
            g.setFont(new Font(Font.SANS_SERIF, Font.BOLD, Math.max(11, Math.min(w, h) / 30)));
            FontMetrics fm = g.getFontMetrics();
            List<Detection> shown = detections.stream().filter(d -> d.score() >= minScore)
                    .sorted((a, b) -> Float.compare(a.score(), b.score())).toList();
            for (Detection d : shown) {
                Box b = d.box();
                int x0 = clamp(Math.round(b.xmin() * w), w);
                int y0 = clamp(Math.round(b.ymin() * h), h);
                int x1 = clamp(Math.round(b.xmax() * w), w);
                int y1 = clamp(Math.round(b.ymax() * h), h);
                Color c = classColour(d.classId());
                g.setColor(c);
                g.drawRect(x0, y0, Math.max(1, x1 - x0), Math.max(1, y1 - y0));
                String name = labels == null ? "class " + d.classId() : labels.name(d.classId());
                String tag = String.format(Locale.ROOT, "%s %.2f", name, d.score());
                int tw = fm.stringWidth(tag) + 6;
                int th = fm.getHeight();
                int ty = y0 - th >= 0 ? y0 - th : y0;
                g.fillRect(x0, ty, tw, th);
                g.setColor(brightness(c) > 0.6 ? Color.BLACK : Color.WHITE);
                g.drawString(tag, x0 + 3, ty + fm.getAscent());
            }
        } finally {
            g.dispose();
        }
        return out;
    }

    private static int clamp(int v, int size) {
        return Math.max(0, Math.min(size - 1, v));
    }

    private static double brightness(Color c) {
        return (0.299 * c.getRed() + 0.587 * c.getGreen() + 0.114 * c.getBlue()) / 255;
    }
}
