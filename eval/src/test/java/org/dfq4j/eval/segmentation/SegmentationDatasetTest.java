package org.dfq4j.eval.segmentation;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.awt.image.BufferedImage;
import java.awt.image.IndexColorModel;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Optional;
import org.dfq4j.eval.TestImages;
import org.dfq4j.eval.overlay.MaskPainter;
import org.dfq4j.rewrite.DfqException;
import org.dfq4j.rewrite.testing.SharedData;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class SegmentationDatasetTest {

    @TempDir
    Path dir;

    /** A VOC-style palette PNG: index i shows the VOC colour of class i (255: cream), never grey i. */
    static Path writePaletteMask(Path file, int width, int height, int... indices) {
        byte[] r = new byte[256];
        byte[] g = new byte[256];
        byte[] b = new byte[256];
        for (int i = 0; i < 256; i++) {
            int c = i == 255 ? 0xE0E0C0 : MaskPainter.vocColour(i);
            r[i] = (byte) (c >> 16);
            g[i] = (byte) (c >> 8);
            b[i] = (byte) c;
        }
        BufferedImage im = new BufferedImage(width, height, BufferedImage.TYPE_BYTE_INDEXED,
                new IndexColorModel(8, 256, r, g, b));
        im.getRaster().setSamples(0, 0, width, height, 0, indices);
        return TestImages.write(im, "png", file);
    }

    @Test
    void vocLayoutReadsClassIdsFromPaletteIndices() throws IOException {
        Files.createDirectories(dir.resolve("JPEGImages"));
        Files.createDirectories(dir.resolve("SegmentationClass"));
        Files.createDirectories(dir.resolve("ImageSets/Segmentation"));
        Files.writeString(dir.resolve("ImageSets/Segmentation/val.txt"), "2007_000001\n\n");
        TestImages.write(TestImages.solid(3, 2, 0x808080), "jpeg", dir.resolve("JPEGImages/2007_000001.jpg"));
        writePaletteMask(dir.resolve("SegmentationClass/2007_000001.png"), 3, 2, 0, 1, 15, 255, 20, 3);

        SegmentationDataset ds = SegmentationDataset.voc(dir, "val");
        assertEquals(1, ds.size());
        SegmentationSample s = ds.samples().get(0);
        assertEquals("2007_000001", s.name());
        assertTrue(ds.hasMasks());
        LabelMask mask = LabelMask.read(s.mask().orElseThrow());
        assertEquals(3, mask.width());
        assertEquals(2, mask.height());
        // the indices, although index 1 is displayed as (128, 0, 0) and 15 as (192, 128, 128)
        assertArrayEquals(new int[] {0, 1, 15, 255, 20, 3}, mask.toIntArray());
        assertEquals(20, mask.maxClass());
    }

    @Test
    void vocLayoutReportsAMissingMaskAndSplit() throws IOException {
        Files.createDirectories(dir.resolve("JPEGImages"));
        Files.createDirectories(dir.resolve("ImageSets/Segmentation"));
        Files.writeString(dir.resolve("ImageSets/Segmentation/val.txt"), "a\n");
        TestImages.write(TestImages.solid(2, 2, 0), "jpeg", dir.resolve("JPEGImages/a.jpg"));
        DfqException e = assertThrows(DfqException.class, () -> SegmentationDataset.voc(dir, "val"));
        assertTrue(e.getMessage().contains("SegmentationClass/a.png") || e.getMessage().contains("SegmentationClass\\a.png"),
                e.getMessage());
        DfqException split = assertThrows(DfqException.class, () -> SegmentationDataset.voc(dir, "train"));
        assertTrue(split.getMessage().contains("train.txt"), split.getMessage());
    }

    @Test
    void pairedFolderMatchesMasksAndSkipsPhotographsWithout() {
        TestImages.write(TestImages.solid(2, 2, 0xFF0000), "png", dir.resolve("b.png"));
        writePaletteMask(dir.resolve("b_mask.png"), 2, 2, 0, 1, 1, 0);
        TestImages.write(TestImages.solid(2, 2, 0x00FF00), "bmp", dir.resolve("a.bmp"));
        writePaletteMask(dir.resolve("a_mask.png"), 2, 2, 2, 2, 2, 2);
        TestImages.write(TestImages.solid(2, 2, 0x0000FF), "png", dir.resolve("c.png"));

        SegmentationDataset ds = SegmentationDataset.pairedFolder(dir);
        assertEquals(List.of("a", "b"), ds.samples().stream().map(SegmentationSample::name).toList());
        assertEquals(Optional.of(dir.resolve("a_mask.png")), ds.samples().get(0).mask());
        assertEquals(dir.resolve("b.png"), ds.samples().get(1).image());

        SegmentationDataset photos = SegmentationDataset.photographs(dir);
        assertEquals(List.of("a", "b", "c"), photos.samples().stream().map(SegmentationSample::name).toList());
        assertFalse(photos.hasMasks());
    }

    @Test
    void pairedFolderRejectsAnOrphanMask() {
        writePaletteMask(dir.resolve("x_mask.png"), 2, 2, 0, 0, 0, 0);
        DfqException e = assertThrows(DfqException.class, () -> SegmentationDataset.pairedFolder(dir));
        assertTrue(e.getMessage().contains("x_mask.png"), e.getMessage());
    }

    @Test
    void rgbMaskOrNonImageIsRejectedByName() throws IOException {
        Path rgb = TestImages.write(TestImages.solid(2, 2, 0x010101), "png", dir.resolve("rgb_mask.png"));
        DfqException e = assertThrows(DfqException.class, () -> LabelMask.read(rgb));
        assertTrue(e.getMessage().contains("rgb_mask.png") && e.getMessage().contains("bands"), e.getMessage());
        Path text = Files.writeString(dir.resolve("t_mask.png"), "not an image");
        DfqException t = assertThrows(DfqException.class, () -> LabelMask.read(text));
        assertTrue(t.getMessage().contains("t_mask.png"), t.getMessage());
    }

    @Test
    void sharedScenesHoldTwoSegmentationPairs() {
        Optional<Path> scenes = SharedData.file("images/scenes");
        Assumptions.assumeTrue(scenes.isPresent(), SharedData.missing("images/scenes"));
        SegmentationDataset ds = SegmentationDataset.pairedFolder(scenes.get());
        assertEquals(List.of("bird_segmentation", "dog_segmentation"),
                ds.samples().stream().map(SegmentationSample::name).toList());
        for (SegmentationSample s : ds.samples()) {
            assertEquals(s.name() + "_mask.bmp", s.mask().orElseThrow().getFileName().toString());
            LabelMask mask = LabelMask.read(s.mask().get());
            ImageSize size = ImageSize.read(s.image());
            assertEquals(size.width(), mask.width());
            assertEquals(size.height(), mask.height());
            for (int id : mask.toIntArray()) {
                assertTrue(id <= 20 || id == LabelMask.IGNORE, s.name() + " has class id " + id);
            }
            assertTrue(mask.maxClass() >= 1, s.name() + " mask shows no object");
        }
    }
}
