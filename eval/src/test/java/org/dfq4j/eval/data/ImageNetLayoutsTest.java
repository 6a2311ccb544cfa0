package org.dfq4j.eval.data;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.dfq4j.eval.TestImages;
import org.dfq4j.rewrite.DfqException;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;

/** The three ImageNet layouts label the same photographs alike; ground-truth files and label offsets. */
class ImageNetLayoutsTest {

    /** Sorted "synsets"; photograph i has class CLASSES[i % 3]. */
    private static final List<String> CLASSES = List.of("n01", "n02", "n03");

    @TempDir
    Path dir;

    private ClassList classes;
    private ClassList withBackground;

    @BeforeEach
    void classFiles() throws IOException {
        classes = ClassList.read(Files.write(dir.resolve("synsets.txt"), CLASSES));
        withBackground = ClassList.read(Files.write(dir.resolve("synsets_1001.txt"),
                List.of("background", "n01", "n02", "n03")));
    }

    private void photo(Path file) throws IOException {
        Files.createDirectories(file.getParent());
        TestImages.write(TestImages.solid(4, 4, 0), "png", file);
    }

    private static String official(int i) {
        return String.format("ILSVRC2012_val_%08d", i + 1);
    }

    /** Five photographs in each layout; returns the folders (prefix, class folders, flat). */
    private Path[] layouts() throws IOException {
        Path prefix = dir.resolve("prefix");
        Path folders = dir.resolve("val");
        Path flat = dir.resolve("flat");
        for (int i = 0; i < 5; i++) {
            String c = CLASSES.get(i % 3);
            photo(prefix.resolve(c + "_" + official(i) + ".png"));
            photo(folders.resolve(c).resolve(official(i) + ".png"));
            photo(flat.resolve(official(i) + ".png"));
        }
        return new Path[] {prefix, folders, flat};
    }

    private Path groundTruth(String name, List<String> lines) throws IOException {
        return Files.write(dir.resolve(name), lines);
    }

    @Test
    void everyLayoutGivesTheSameLabels() throws IOException {
        Path[] l = layouts();
        Path csv = groundTruth("LOC_val_solution.csv", List.of("ImageId,PredictionString",
                official(3) + ",n01 1 2 3 4 n01 5 6 7 8", official(0) + ",n01 0 0 9 9", official(1) + ",n02 1 1 2 2",
                official(2) + ",n03 3 3 4 4", official(4) + ",n02 0 1 2 3"));
        Path bySynset = groundTruth("val_synsets.txt", List.of(official(0) + ".JPEG n01", official(1) + " n02",
                official(2) + ".png n03", official(3) + ",n01", official(4) + "\tn02"));
        Path byIndex = groundTruth("val.txt", List.of(official(0) + ".JPEG 0", official(1) + ".JPEG 1",
                official(2) + ".JPEG 2", official(3) + ".JPEG 0", official(4) + ".JPEG 1"));
        int[] expected = {0, 1, 2, 0, 1};

        ImageFolderDataset prefix = ImageFolderDataset.scan(l[0], classes);
        ImageFolderDataset folders = ImageFolderDataset.scan(l[1], classes);
        assertEquals(ImageNetLayout.CLASS_PREFIX, prefix.layout());
        assertEquals(ImageNetLayout.CLASS_FOLDERS, folders.layout());
        assertTrue(folders.describe().contains("ImageFolder"), folders.describe());
        for (Path gt : List.of(csv, bySynset, byIndex)) {
            ImageFolderDataset flat = ImageFolderDataset.scan(l[2], classes, Integer.MAX_VALUE, GroundTruth.read(gt));
            assertEquals(ImageNetLayout.FLAT_WITH_GROUND_TRUTH, flat.layout());
            assertTrue(flat.describe().contains(gt.toString()), flat.describe());
            assertArrayEquals(expected, flat.labels(), gt.toString());
        }
        // the same photographs in the same order everywhere, labelled alike
        assertArrayEquals(prefix.labels(), folders.labels());
        assertArrayEquals(expected, sortedByOfficialName(prefix));
    }

    private static int[] sortedByOfficialName(ImageFolderDataset d) {
        return d.images().stream().sorted(java.util.Comparator.comparing(im -> im.name().substring(4)))
                .mapToInt(LabeledImage::label).toArray();
    }

    @Test
    void indexesSkipTheBackgroundLine() throws IOException {
        Path flat = layouts()[2];
        Path byIndex = groundTruth("val.txt", List.of(official(0) + " 0", official(1) + " 1", official(2) + " 2",
                official(3) + " 0", official(4) + " 2"));
        GroundTruth gt = GroundTruth.read(byIndex);
        assertEquals(GroundTruth.Form.FILE_INDEX, gt.form());
        ImageFolderDataset d = ImageFolderDataset.scan(flat, withBackground, Integer.MAX_VALUE, gt);
        // index 0 = n01 = line 2 of the background file = output 1
        assertArrayEquals(new int[] {1, 2, 3, 1, 3}, d.labels());
        assertTrue(d.describe().contains("after its background line"), d.describe());
    }

    @Test
    void officialFilesWithoutGroundTruthAskForIt() throws IOException {
        Path flat = layouts()[2];
        DfqException e = assertThrows(DfqException.class, () -> ImageFolderDataset.scan(flat, classes));
        assertTrue(e.getMessage().contains("--ground-truth"), e.getMessage());
    }

    @Test
    void photographMissingFromTheGroundTruthIsAnError() throws IOException {
        Path flat = layouts()[2];
        Path partial = groundTruth("partial.txt", List.of(official(0) + " n01", official(1) + " n02"));
        DfqException e = assertThrows(DfqException.class, () -> ImageFolderDataset.scan(flat, classes,
                Integer.MAX_VALUE, GroundTruth.read(partial)));
        assertTrue(e.getMessage().startsWith("3 photograph(s)") && e.getMessage().contains(official(2)), e.getMessage());
    }

    @Test
    void unknownClassFolderIsNamed() throws IOException {
        Path folders = layouts()[1];
        photo(folders.resolve("n99").resolve("x.png"));
        DfqException e = assertThrows(DfqException.class, () -> ImageFolderDataset.scan(folders, classes));
        assertTrue(e.getMessage().contains("class 'n99'") && e.getMessage().contains("n99/x.png"), e.getMessage());
    }

    @Test
    void emptyFolderNamesAllThreeLayouts() throws IOException {
        Path empty = Files.createDirectories(dir.resolve("empty/sub"));
        DfqException e = assertThrows(DfqException.class, () -> ImageFolderDataset.scan(empty.getParent(), classes));
        assertTrue(e.getMessage().contains("sub-folder per class") && e.getMessage().contains("--ground-truth"),
                e.getMessage());
    }

    @Test
    void badGroundTruthFilesAreNamedWithTheirLine() throws IOException {
        Path mixed = groundTruth("mixed.txt", List.of("a.JPEG n01", "b.JPEG 3"));
        DfqException e = assertThrows(DfqException.class, () -> GroundTruth.read(mixed));
        assertTrue(e.getMessage().contains("line 2"), e.getMessage());
        Path single = groundTruth("single.txt", List.of("65", "970"));
        e = assertThrows(DfqException.class, () -> GroundTruth.read(single));
        assertTrue(e.getMessage().contains("line 1") && e.getMessage().contains("<file> <index>"), e.getMessage());
        Path twice = groundTruth("twice.txt", List.of("a.JPEG n01", "a.png n02"));
        e = assertThrows(DfqException.class, () -> GroundTruth.read(twice));
        assertTrue(e.getMessage().contains("two classes"), e.getMessage());
        e = assertThrows(DfqException.class, () -> GroundTruth.read(dir.resolve("absent.csv")));
        assertTrue(e.getMessage().contains("does not exist"), e.getMessage());
        Path outOfRange = groundTruth("range.txt", List.of(official(0) + " 3"));
        GroundTruth gt = GroundTruth.read(outOfRange);
        e = assertThrows(DfqException.class, () -> gt.classIdOf(official(0) + ".png", withBackground));
        assertTrue(e.getMessage().contains("class index 3") && e.getMessage().contains("3 classes"), e.getMessage());
    }

    @Test
    void labelOffsetsAreWorkedOutFromTheCounts() {
        INDArray logits = Nd4j.createFromArray(new float[][] {{9, 1, 2, 3}, {9, 3, 2, 1}});
        LabelAlignment plusOne = LabelAlignment.of(classes, 4, "m");
        assertEquals(1, plusOne.offset());
        assertTrue(plusOne.description().contains("output 0 is background"), plusOne.description());
        assertEquals(Nd4j.createFromArray(new float[][] {{1, 2, 3}, {3, 2, 1}}), plusOne.classScores(logits));

        LabelAlignment minusOne = LabelAlignment.of(withBackground, 3, "m");
        assertEquals(-1, minusOne.offset());
        INDArray scores = minusOne.classScores(Nd4j.createFromArray(new float[][] {{1, 2, 3}}));
        assertEquals(Float.NEGATIVE_INFINITY, scores.getFloat(0, 0));
        assertEquals(3f, scores.getFloat(0, 3));

        assertEquals(0, LabelAlignment.of(withBackground, 4, "m").offset());
        assertEquals(0, LabelAlignment.of(classes, 3, "m").offset());
        DfqException e = assertThrows(DfqException.class, () -> LabelAlignment.of(classes, 5, "m"));
        assertTrue(e.getMessage().contains("5 outputs") && e.getMessage().contains("3 classes"), e.getMessage());
        // one output fewer only when the class file's first line is the background
        assertThrows(DfqException.class, () -> LabelAlignment.of(classes, 2, "m"));
        // one output more than a file that already has the background line: no rule says which
        assertThrows(DfqException.class, () -> LabelAlignment.of(withBackground, 5, "m"));
    }
}
