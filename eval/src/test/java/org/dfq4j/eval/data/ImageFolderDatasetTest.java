package org.dfq4j.eval.data;

import static org.dfq4j.eval.TestImages.pack;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.dfq4j.eval.TestImages;
import org.dfq4j.eval.image.Preprocessing;
import org.dfq4j.rewrite.DfqException;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class ImageFolderDatasetTest {

    @TempDir
    Path dir;

    private Path photo(String name) {
        return TestImages.write(TestImages.solid(4, 4, pack(1, 2, 3)), "png", dir.resolve(name));
    }

    private Path classFile(String... lines) throws IOException {
        return Files.write(dir.resolve("classes.txt"), List.of(lines));
    }

    @Test
    void classIdIsTheTextBeforeTheFirstUnderscore() {
        assertEquals("n01440764", ImageFolderDataset.classIdOf("n01440764_tench.JPEG"));
        assertEquals("n01440764", ImageFolderDataset.classIdOf("n01440764_ILSVRC2012_val_00000293.JPEG"));
        assertEquals("cat", ImageFolderDataset.classIdOf("cat.png"));
        assertEquals("", ImageFolderDataset.classIdOf("_odd.jpg"));
    }

    @Test
    void classFileOrderGivesTheLabels() throws IOException {
        Path images = Files.createDirectory(dir.resolve("images"));
        for (String n : new String[] {"b_2.png", "a_1.JPEG", "c_x.jpg", "b_1.BMP"}) {
            TestImages.write(TestImages.solid(4, 4, 0), n.endsWith("BMP") ? "bmp" : n.endsWith("jpg") ? "jpeg" : "png",
                    images.resolve(n));
        }
        Files.writeString(images.resolve("README.txt"), "not a photograph");
        Files.createDirectory(images.resolve("sub_dir.png"));
        TestImages.write(TestImages.solid(4, 4, 0), "png", images.resolve(".hidden_a.png"));
        // class c is output 0, a is 1, b is 2; a trailing description and trailing blank lines are ignored
        ClassList classes = ClassList.read(classFile("c", "a  the letter a", "b", "", ""));
        assertEquals(3, classes.size());
        ImageFolderDataset d = ImageFolderDataset.scan(images, classes);
        assertEquals(List.of("a_1.JPEG", "b_1.BMP", "b_2.png", "c_x.jpg"),
                d.images().stream().map(LabeledImage::name).toList());
        assertArrayEquals(new int[] {1, 2, 2, 0}, d.labels());
        assertEquals("b", d.images().get(2).classId());
    }

    @Test
    void limitTakesTheFirstPhotographsInNameOrder() throws IOException {
        for (String n : new String[] {"z_1.png", "x_1.png", "y_1.png"}) {
            photo(n);
        }
        ClassList classes = ClassList.read(classFile("x", "y", "z"));
        ImageFolderDataset d = ImageFolderDataset.scan(dir, classes, 2);
        assertEquals(List.of("x_1.png", "y_1.png"), d.images().stream().map(LabeledImage::name).toList());
        assertEquals(3, ImageFolderDataset.scan(dir, classes, 10).size());
        assertThrows(DfqException.class, () -> ImageFolderDataset.scan(dir, classes, 0));
    }

    @Test
    void photographOfAnUnknownClassIsAnErrorNamingTheFirstOne() throws IOException {
        photo("a_1.png");
        photo("q_2.png");
        photo("r_1.png");
        ClassList classes = ClassList.read(classFile("a"));
        DfqException e = assertThrows(DfqException.class, () -> ImageFolderDataset.scan(dir, classes));
        assertTrue(e.getMessage().contains("q_2.png"), e.getMessage());
        assertTrue(e.getMessage().contains("'q'"), e.getMessage());
        assertTrue(e.getMessage().startsWith("2 photograph"), e.getMessage());
        // also when the limit would not reach the unknown photographs
        assertThrows(DfqException.class, () -> ImageFolderDataset.scan(dir, classes, 1));
    }

    @Test
    void folderWithoutPhotographsIsAnError() throws IOException {
        Path empty = Files.createDirectory(dir.resolve("empty"));
        Files.writeString(empty.resolve("notes.txt"), "x");
        ClassList classes = ClassList.of("test", List.of("a"));
        DfqException e = assertThrows(DfqException.class, () -> ImageFolderDataset.scan(empty, classes));
        assertTrue(e.getMessage().contains(empty.toString()), e.getMessage());
    }

    @Test
    void missingFolderAndClassFileAreErrorsNamingThem() {
        Path missing = dir.resolve("nowhere");
        DfqException e = assertThrows(DfqException.class,
                () -> ImageFolderDataset.scan(missing, ClassList.of("test", List.of("a"))));
        assertTrue(e.getMessage().contains(missing.toString()), e.getMessage());
        Path noFile = dir.resolve("classes-missing.txt");
        e = assertThrows(DfqException.class, () -> ClassList.read(noFile));
        assertTrue(e.getMessage().contains(noFile.toString()), e.getMessage());
    }

    @Test
    void malformedClassFilesAreRejected() throws IOException {
        Path duplicate = Files.write(dir.resolve("dup.txt"), List.of("a", "b", "a"));
        DfqException e = assertThrows(DfqException.class, () -> ClassList.read(duplicate));
        assertTrue(e.getMessage().contains("'a'") && e.getMessage().contains("lines 1 and 3"), e.getMessage());
        Path gap = Files.write(dir.resolve("gap.txt"), List.of("a", "", "b"));
        e = assertThrows(DfqException.class, () -> ClassList.read(gap));
        assertTrue(e.getMessage().contains("line 2"), e.getMessage());
        Path empty = Files.write(dir.resolve("empty.txt"), List.of("", " "));
        assertThrows(DfqException.class, () -> ClassList.read(empty));
    }

    @Test
    void notAnImageInTheFolderFailsWhenDecodedNamingTheFile() throws IOException {
        photo("a_1.png");
        Path junk = Files.write(dir.resolve("a_2.JPEG"), new byte[] {1, 2, 3, 4, 5, 6, 7, 8});
        ImageFolderDataset d = ImageFolderDataset.scan(dir, ClassList.of("test", List.of("a")));
        assertEquals(2, d.size());
        try (ImageBatches batches = new ImageBatches(d.files(), Preprocessing.UNIT,
                new long[] {3, 4, 4}, 1, 1)) {
            assertEquals(1, batches.next().size());
            DfqException e = assertThrows(DfqException.class, batches::next);
            assertTrue(e.getMessage().contains(junk.toString()), e.getMessage());
        }
    }
}
