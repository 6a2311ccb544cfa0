package org.dfq4j.eval.overlay;

import java.awt.Color;
import java.awt.Font;
import java.awt.FontMetrics;
import java.awt.Graphics2D;
import java.awt.RenderingHints;
import java.awt.image.BufferedImage;
import java.io.IOException;
import java.nio.file.Path;
import java.util.List;
import javax.imageio.ImageIO;
import org.dfq4j.eval.detection.Detection;
import org.dfq4j.eval.detection.LabelMap;
import org.dfq4j.eval.segmentation.LabelMask;
import org.dfq4j.rewrite.DfqException;
import org.dfq4j.rewrite.io.AtomicFile;

/**
 * Writes side-by-side comparison PNGs into a folder ({@code --save-overlays DIR}): two panels of
 * the same photograph, e.g. the FP32 prediction left and the 8-bit one right, each under a title
 * bar. Each PNG is written with {@link AtomicFile}.
 *
 * <p>The image is {@code 2 * width + }{@value #GAP} pixels wide and {@code height + }{@value #TITLE_HEIGHT}
 * high for a {@code width x height} photograph.
 */
public final class OverlayWriter {

    /** Height of the title bar above each panel. */
    public static final int TITLE_HEIGHT = 28;
    /** Width of the white gap between the panels. */
    public static final int GAP = 8;
    /** Default panel titles. */
    public static final String REFERENCE_TITLE = "FP32";
    public static final String TEST_TITLE = "8-bit";

    private final Path directory;
    private final String leftTitle;
    private final String rightTitle;

    /** Into {@code directory} (created when missing), titled {@value #REFERENCE_TITLE} and {@value #TEST_TITLE}. */
    public OverlayWriter(Path directory) {
        this(directory, REFERENCE_TITLE, TEST_TITLE);
    }

    public OverlayWriter(Path directory, String leftTitle, String rightTitle) {
        this.directory = directory;
        this.leftTitle = leftTitle;
        this.rightTitle = rightTitle;
    }

    /**
     * Writes {@code <name>.png}: the two masks painted over the photograph.
     *
     * @return the file written
     * @throws DfqException when a mask does not fit the photograph or the file cannot be written
     */
    public Path writeMasks(String name, BufferedImage photo, LabelMask left, LabelMask right) {
        return write(name, sideBySide(MaskPainter.paint(photo, left, MaskPainter.DEFAULT_ALPHA), leftTitle,
                MaskPainter.paint(photo, right, MaskPainter.DEFAULT_ALPHA), rightTitle));
    }

    /**
     * Writes {@code <name>.png}: the two runs' detections scoring at least {@code minScore} drawn
     * over the photograph.
     *
     * @param labels names the classes; null for "class i"
     * @return the file written
     */
    public Path writeDetections(String name, BufferedImage photo, List<Detection> left, List<Detection> right,
                                LabelMap labels, float minScore) {
        return write(name, sideBySide(BoxPainter.paint(photo, left, labels, minScore), leftTitle,
                BoxPainter.paint(photo, right, labels, minScore), rightTitle));
    }

    /** Two equally sized panels side by side, each under its title. */
    public static BufferedImage sideBySide(BufferedImage left, String leftTitle, BufferedImage right,
                                           String rightTitle) {
        if (left.getWidth() != right.getWidth() || left.getHeight() != right.getHeight()) {
            throw new IllegalArgumentException("panels differ in size: " + left.getWidth() + "x" + left.getHeight()
                    + " vs " + right.getWidth() + "x" + right.getHeight());
        }
        int w = left.getWidth();
        int h = left.getHeight();
        BufferedImage out = new BufferedImage(2 * w + GAP, h + TITLE_HEIGHT, BufferedImage.TYPE_INT_RGB);
        Graphics2D g = out.createGraphics();
        try {
            g.setColor(Color.WHITE);
            g.fillRect(0, 0, out.getWidth(), out.getHeight());
            g.drawImage(left, 0, TITLE_HEIGHT, null);
            g.drawImage(right, w + GAP, TITLE_HEIGHT, null);
            g.setRenderingHint(RenderingHints.KEY_TEXT_ANTIALIASING, RenderingHints.VALUE_TEXT_ANTIALIAS_ON);
            g.setColor(Color.BLACK);
            g.setFont(new Font(Font.SANS_SERIF, Font.BOLD, 18));
            FontMetrics fm = g.getFontMetrics();
            int baseline = (TITLE_HEIGHT - fm.getHeight()) / 2 + fm.getAscent();
            g.drawString(leftTitle, Math.max(2, (w - fm.stringWidth(leftTitle)) / 2), baseline);
            g.drawString(rightTitle, w + GAP + Math.max(2, (w - fm.stringWidth(rightTitle)) / 2), baseline);
        } finally {
            g.dispose();
        }
        return out;
    }

    private Path write(String name, BufferedImage image) {
        if (name.isBlank() || name.contains("/") || name.contains("\\")) {
            throw new IllegalArgumentException("overlay name must be a plain file name, got '" + name + "'");
        }
        Path target = directory.resolve(fileName(name));
        writePng(image, target);
        return target;
    }

    /** The file an overlay of the photograph called {@code name} is written to: {@code <name>.png}. */
    public static String fileName(String name) {
        return name + ".png";
    }

    /**
     * Writes a PNG with {@link AtomicFile}.
     *
     * @throws DfqException naming the target when it cannot be written
     */
    public static void writePng(BufferedImage image, Path target) {
        java.io.ByteArrayOutputStream png = new java.io.ByteArrayOutputStream();
        try {
            if (!ImageIO.write(image, "png", png)) {
                throw new DfqException("cannot write " + target + ": no PNG writer in this Java runtime");
            }
        } catch (IOException e) {
            throw new DfqException("cannot encode overlay " + target + ": " + e, e);
        }
        AtomicFile.write(target, png.toByteArray());
    }
}
