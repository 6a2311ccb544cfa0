package org.dfq4j.eval.overlay;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import java.awt.image.BufferedImage;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.stream.Stream;
import javax.imageio.ImageIO;
import org.dfq4j.eval.TestImages;
import org.dfq4j.eval.detection.Box;
import org.dfq4j.eval.detection.Detection;
import org.dfq4j.eval.detection.LabelMap;
import org.dfq4j.eval.segmentation.LabelMask;
import org.dfq4j.rewrite.DfqException;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class OverlayWriterTest {

    private static final int GREY = 0x646464; // (100, 100, 100)

    @TempDir
    Path dir;

    private static List<String> files(Path d) throws IOException {
        try (Stream<Path> s = Files.list(d)) {
            return s.map(p -> p.getFileName().toString()).sorted().toList();
        }
    }

    @Test
    void vocPaletteColours() {
        assertEquals(0x000000, MaskPainter.vocColour(0));
        assertEquals(0x800000, MaskPainter.vocColour(1));
        assertEquals(0x008000, MaskPainter.vocColour(2));
        assertEquals(0xC08080, MaskPainter.vocColour(15)); // person
        assertEquals(0x004080, MaskPainter.vocColour(20)); // tv/monitor
    }

    /**
     * A 10 x 6 grey photograph; left mask has class 1 at (0,0), right mask is all background.
     * Expected PNG: 2 x 10 + GAP wide, 6 + TITLE_HEIGHT high. Left panel (0,0) = grey blended half
     * with dark red (128,0,0): (114, 50, 50); right panel (0,0) stays grey.
     */
    @Test
    void maskOverlayHasTwoPanelsAndNoTemporaryFile() throws IOException {
        BufferedImage photo = TestImages.solid(10, 6, GREY);
        int[] left = new int[60];
        left[0] = 1;
        Path out = dir.resolve("overlays");
        Path png = new OverlayWriter(out).writeMasks("bird", photo, LabelMask.of(10, 6, left),
                LabelMask.of(10, 6, new int[60]));
        assertEquals(out.resolve("bird.png"), png);
        assertEquals(List.of("bird.png"), files(out));
        BufferedImage im = ImageIO.read(png.toFile());
        assertEquals(2 * 10 + OverlayWriter.GAP, im.getWidth());
        assertEquals(6 + OverlayWriter.TITLE_HEIGHT, im.getHeight());
        assertEquals(TestImages.pack(114, 50, 50), im.getRGB(0, OverlayWriter.TITLE_HEIGHT) & 0xFFFFFF);
        assertEquals(GREY, im.getRGB(1, OverlayWriter.TITLE_HEIGHT) & 0xFFFFFF);
        assertEquals(GREY, im.getRGB(10 + OverlayWriter.GAP, OverlayWriter.TITLE_HEIGHT) & 0xFFFFFF);
    }

    /** Boxes are drawn on the side whose run detected them; rewriting replaces the file in place. */
    @Test
    void boxOverlayDrawsEachRunsDetections() throws IOException {
        BufferedImage photo = TestImages.solid(80, 60, GREY);
        Detection dog = new Detection(new Box(0.25f, 0.25f, 0.75f, 0.75f), 2, 0.9f);
        LabelMap labels = LabelMap.of("l", List.of("???", "cat", "dog"));
        OverlayWriter w = new OverlayWriter(dir, "FP32", "8-bit");
        w.writeDetections("dog", photo, List.of(), List.of(dog), labels, 0.5f);
        Path png = w.writeDetections("dog", photo, List.of(), List.of(dog), labels, 0.5f);
        assertEquals(List.of("dog.png"), files(dir));
        BufferedImage im = ImageIO.read(png.toFile());
        assertEquals(2 * 80 + OverlayWriter.GAP, im.getWidth());
        assertEquals(60 + OverlayWriter.TITLE_HEIGHT, im.getHeight());
        // the box's left edge at x = 20, halfway down (y = 30): drawn on the right panel only
        int y = OverlayWriter.TITLE_HEIGHT + 30;
        assertEquals(GREY, im.getRGB(20, y) & 0xFFFFFF);
        assertNotEquals(GREY, im.getRGB(80 + OverlayWriter.GAP + 20, y) & 0xFFFFFF);
        // a detection below the minimum score is not drawn
        Path faint = w.writeDetections("faint", photo, List.of(), List.of(new Detection(dog.box(), 2, 0.2f)),
                labels, 0.5f);
        assertEquals(GREY, ImageIO.read(faint.toFile()).getRGB(80 + OverlayWriter.GAP + 20, y) & 0xFFFFFF);
    }

    @Test
    void maskOfAnotherSizeIsRejected() {
        assertThrows(DfqException.class, () -> new OverlayWriter(dir).writeMasks("x", TestImages.solid(4, 4, 0),
                LabelMask.of(2, 2, 0, 0, 0, 0), LabelMask.of(2, 2, 0, 0, 0, 0)));
    }
}
