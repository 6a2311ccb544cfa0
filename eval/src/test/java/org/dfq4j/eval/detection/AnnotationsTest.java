package org.dfq4j.eval.detection;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.dfq4j.eval.TestImages;
import org.dfq4j.rewrite.DfqException;
import org.dfq4j.rewrite.testing.SharedData;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.function.Executable;
import org.junit.jupiter.api.io.TempDir;

class AnnotationsTest {

    @TempDir
    Path dir;

    /** Like the SSD label file: 0 background, unused ids as ???, multi-word names. */
    private static final LabelMap LABELS = LabelMap.of("test labels",
            List.of("???", "person", "bicycle", "???", "airplane", "dog", "traffic light"));

    @BeforeEach
    void images() throws IOException {
        Files.createDirectories(dir.resolve("JPEGImages"));
        Files.createDirectories(dir.resolve("Annotations"));
        TestImages.write(TestImages.solid(200, 100, 0x336699), "jpeg", dir.resolve("JPEGImages/000001.jpg"));
        TestImages.write(TestImages.solid(40, 20, 0x336699), "jpeg", dir.resolve("JPEGImages/000002.jpg"));
    }

    @Test
    void labelMapSkipsUnusedIdsAndIgnoresCase() {
        assertEquals(5, LABELS.idOf("Dog").getAsInt());
        assertEquals(6, LABELS.idOf("traffic light").getAsInt());
        assertTrue(LABELS.idOf("???").isEmpty());
        assertFalse(LABELS.isUsed(3));
        assertTrue(LABELS.isUsed(1));
        assertEquals("class 9", LABELS.name(9));
    }

    /**
     * 200 x 100 image; dog box x 20..120, y 10..60 -> [10/100, 20/200, 60/100, 120/200] =
     * [0.1, 0.1, 0.6, 0.6]; aeroplane (VOC's name for COCO's airplane) x 0..50, y 50..100 ->
     * [0.5, 0, 1, 0.25], difficult.
     */
    @Test
    void vocXml() throws IOException {
        Path xml = Files.writeString(dir.resolve("Annotations/000001.xml"), """
                <annotation>
                  <folder>VOC2007</folder>
                  <filename>000001.jpg</filename>
                  <size><width>200</width><height>100</height><depth>3</depth></size>
                  <object>
                    <name>dog</name><pose>Left</pose><truncated>1</truncated><difficult>0</difficult>
                    <bndbox><xmin>20</xmin><ymin>10</ymin><xmax>120</xmax><ymax>60</ymax></bndbox>
                  </object>
                  <object>
                    <name>aeroplane</name><difficult>1</difficult>
                    <bndbox><xmin>0</xmin><ymin>50</ymin><xmax>50.0</xmax><ymax>100</ymax></bndbox>
                  </object>
                </annotation>
                """);
        AnnotatedImage im = VocAnnotation.read(xml, dir.resolve("JPEGImages"), LABELS);
        assertEquals("000001", im.name());
        assertEquals(dir.resolve("JPEGImages/000001.jpg"), im.image());
        assertEquals(200, im.width());
        assertEquals(100, im.height());
        assertEquals(2, im.objects().size());
        GroundTruthBox dog = im.objects().get(0);
        assertEquals(5, dog.classId());
        assertFalse(dog.difficult());
        assertEquals(new Box(0.1f, 0.1f, 0.6f, 0.6f), dog.box());
        GroundTruthBox plane = im.objects().get(1);
        assertEquals(4, plane.classId());
        assertTrue(plane.difficult());
        assertEquals(new Box(0.5f, 0f, 1f, 0.25f), plane.box());
    }

    @Test
    void vocDatasetWithSplitAndSizeFromTheImage() throws IOException {
        Files.createDirectories(dir.resolve("ImageSets/Main"));
        Files.writeString(dir.resolve("ImageSets/Main/val.txt"), "000002\n");
        // no <size>: read from the JPEG's header (40 x 20); box x 4..8, y 2..20 -> [0.1, 0.1, 1, 0.2]
        Files.writeString(dir.resolve("Annotations/000002.xml"), """
                <annotation><object><name>person</name>
                <bndbox><xmin>4</xmin><ymin>2</ymin><xmax>8</xmax><ymax>20</ymax></bndbox></object></annotation>
                """);
        DetectionDataset ds = DetectionDataset.voc(dir, "val", LABELS);
        assertTrue(ds.hasGroundTruth());
        assertEquals(1, ds.size());
        AnnotatedImage im = ds.images().get(0);
        assertEquals(40, im.width());
        assertEquals(20, im.height());
        assertEquals(new GroundTruthBox(new Box(0.1f, 0.1f, 1f, 0.2f), 1, false), im.objects().get(0));
    }

    /** The call fails with a DfqException whose message holds every word. */
    private static void assertFailsNaming(Executable call, String... words) {
        DfqException e = assertThrows(DfqException.class, call);
        for (String w : words) {
            assertTrue(e.getMessage().contains(w), e.getMessage());
        }
    }

    @Test
    void vocErrorsNameTheFile() throws IOException {
        Path unknown = Files.writeString(dir.resolve("Annotations/000001.xml"),
                "<annotation><object><name>unicorn</name><bndbox><xmin>1</xmin><ymin>1</ymin><xmax>2</xmax>"
                        + "<ymax>2</ymax></bndbox></object></annotation>");
        assertFailsNaming(() -> VocAnnotation.read(unknown, dir.resolve("JPEGImages"), LABELS), "000001.xml", "unicorn");
        Path broken = Files.writeString(dir.resolve("Annotations/000002.xml"), "<annotation><object>");
        assertFailsNaming(() -> VocAnnotation.read(broken, dir.resolve("JPEGImages"), LABELS), "000002.xml");
    }

    /**
     * Image 7 (200 x 100): dog bbox [20, 10, 100, 50] -> [0.1, 0.1, 0.6, 0.6]; a crowd of people
     * [0, 50, 50, 50] -> [0.5, 0, 1, 0.25], difficult. Image 9 has no annotation and stays.
     * Category ids are COCO's own and need not match the label lines: mapped by name.
     */
    @Test
    void cocoJson() throws IOException {
        Path json = Files.writeString(dir.resolve("instances.json"), """
                {"images": [{"id": 7, "file_name": "000001.jpg", "width": 200, "height": 100},
                            {"id": 9, "file_name": "000002.jpg", "width": 40, "height": 20}],
                 "annotations": [
                   {"id": 1, "image_id": 7, "category_id": 18, "bbox": [20, 10, 100, 50], "iscrowd": 0},
                   {"id": 2, "image_id": 7, "category_id": 100, "bbox": [0, 50, 50, 50], "iscrowd": 1}],
                 "categories": [{"id": 18, "name": "dog"}, {"id": 100, "name": "person"}]}
                """);
        DetectionDataset ds = DetectionDataset.coco(json, dir.resolve("JPEGImages"), LABELS);
        assertEquals(2, ds.size());
        AnnotatedImage first = ds.images().get(0);
        assertEquals("000001.jpg", first.name());
        assertEquals(List.of(new GroundTruthBox(new Box(0.1f, 0.1f, 0.6f, 0.6f), 5, false),
                new GroundTruthBox(new Box(0.5f, 0f, 1f, 0.25f), 1, true)), first.objects());
        assertTrue(ds.images().get(1).objects().isEmpty());
    }

    @Test
    void cocoErrorsNameTheFile() throws IOException {
        Path noImages = Files.writeString(dir.resolve("a.json"), "{\"annotations\": [], \"categories\": []}");
        assertFailsNaming(() -> CocoAnnotations.read(noImages, dir.resolve("JPEGImages"), LABELS), "a.json", "images");
        Path badCategory = Files.writeString(dir.resolve("b.json"),
                "{\"images\": [], \"annotations\": [], \"categories\": [{\"id\": 1, \"name\": \"zebra crossing\"}]}");
        assertFailsNaming(() -> CocoAnnotations.read(badCategory, dir.resolve("JPEGImages"), LABELS), "b.json", "zebra crossing");
        Path notJson = Files.writeString(dir.resolve("c.json"), "{images: ");
        assertFailsNaming(() -> CocoAnnotations.read(notJson, dir.resolve("JPEGImages"), LABELS), "c.json");
    }

    @Test
    void photographFolderWithoutGroundTruthLeavesMasksOut() {
        TestImages.write(TestImages.solid(6, 4, 0), "png", dir.resolve("b.png"));
        TestImages.write(TestImages.solid(6, 4, 0), "png", dir.resolve("b_mask.png"));
        TestImages.write(TestImages.solid(3, 5, 0), "bmp", dir.resolve("a.bmp"));
        DetectionDataset ds = DetectionDataset.photographs(dir);
        assertFalse(ds.hasGroundTruth());
        assertEquals(List.of("a", "b"), ds.images().stream().map(AnnotatedImage::name).toList());
        assertEquals(3, ds.images().get(0).width());
        assertEquals(5, ds.images().get(0).height());
        assertTrue(ds.images().get(0).objects().isEmpty());
    }

    @Test
    void sharedSsdLabelFile() {
        var file = SharedData.file("models/coco_labels_ssd.txt");
        Assumptions.assumeTrue(file.isPresent(), SharedData.missing("models/coco_labels_ssd.txt"));
        LabelMap labels = LabelMap.read(file.get());
        // line i = score column i = COCO category id i: 1 person, 18 dog, 12 unused
        assertEquals(91, labels.size());
        assertEquals(1, labels.idOf("person").getAsInt());
        assertEquals(18, labels.idOf("dog").getAsInt());
        assertFalse(labels.isUsed(0));
        assertFalse(labels.isUsed(12));
    }
}
