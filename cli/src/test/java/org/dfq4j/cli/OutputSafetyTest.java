package org.dfq4j.cli;

import static org.dfq4j.cli.DfqRun.dfq;
import static org.dfq4j.cli.DfqRun.ok;
import static org.dfq4j.cli.DfqRun.sha256;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.awt.Color;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.List;
import java.util.stream.Stream;
import org.dfq4j.zoo.onnx.OnnxModelWriter;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.factory.Nd4j;

/**
 * Outputs never harm inputs: every output path is checked before any work (its folder is usable,
 * it is not an input, an existing file needs --force), and what was there stays as it was when a
 * run is refused.
 */
class OutputSafetyTest extends TinyClassifierTest {

    static Path segmenter;
    static Path photos;

    @BeforeAll
    static void setUp() throws Exception {
        OnnxModelWriter s = new OnnxModelWriter(13).input("x", -1, 3, 8, 8);
        s.output(s.node("Conv", "seg", List.of("x", s.floats("sw", Nd4j.rand(DataType.FLOAT, 2, 3, 1, 1)))));
        segmenter = s.write(dir.resolve("seg.onnx"));
        classes = Files.writeString(dir.resolve("colours.txt"), "red\ngreen\n");
        photos = Files.createDirectory(dir.resolve("photos"));
        for (int i = 0; i < 2; i++) {
            TinyClassifier.photo(photos.resolve("red_" + i + ".png"), new Color(200, 20 * i, 20), 20, 16);
            TinyClassifier.photo(photos.resolve("green_" + i + ".png"), new Color(20 * i, 200, 40), 20, 16);
        }
    }

    private static String[] eval(String... more) {
        List<String> a = new java.util.ArrayList<>(List.of("eval", "--model", model.toString(), "--images",
                photos.toString(), "--labels", classes.toString(), "--preprocess", "unit"));
        a.addAll(List.of(more));
        return a.toArray(String[]::new);
    }

    /** Refused with one line naming the option and the path; the path's content is unchanged and no work was done. */
    private static void refusedKeeping(Path kept, String option, String... args) {
        String before = sha256(kept);
        DfqRun r = dfq(args).failsWithOneLine(option, kept.getFileName().toString());
        assertEquals(before, sha256(kept), kept + " changed");
        assertFalse(r.out().contains("top1"), "refused only after evaluating: " + r.out());
    }

    @Test
    void outAndJsonNeverReplaceTheModel() {
        refusedKeeping(model, "--out", eval("--out", model.toString()));
        refusedKeeping(model, "--json", eval("--json", model.toString()));
        refusedKeeping(model, "--json", eval("--json", model.toString(), "--force"));
        refusedKeeping(model, "--out", eval("--quantize", "--act-range", "none", "--out", model.toString(), "--force"));
    }

    @Test
    void noOutputReplacesLabelsOrPhotographs() {
        refusedKeeping(classes, "--json", eval("--json", classes.toString(), "--force"));
        Path photo = photos.resolve("red_0.png");
        refusedKeeping(photo, "--json", eval("--json", photo.toString(), "--force"));
        refusedKeeping(model, "--markdown", "table", "--model", model.toString(), "--images", photos.toString(),
                "--labels", classes.toString(), "--markdown", model.toString(), "--force");
        refusedKeeping(model, "--json", "bench", "--model", model.toString(), "--runs", "1", "--warmup", "0",
                "--json", model.toString(), "--force");
    }

    @Test
    void linksToAnInputAreTheInput() throws Exception {
        Path sym = Files.createSymbolicLink(dir.resolve("sym.json"), model);
        refusedKeeping(model, "--json", eval("--json", sym.toString(), "--force"));
        Path hard = Files.createLink(dir.resolve("hard.json"), model);
        refusedKeeping(model, "--json", eval("--json", hard.toString(), "--force"));
    }

    @Test
    void anExistingFileIsReplacedOnlyWithForceAndKeepsItsMode() throws Exception {
        Path j = Files.writeString(dir.resolve("existing.json"), "keep me");
        Files.setPosixFilePermissions(j, PosixFilePermissions.fromString("rw-r-----"));
        refusedKeeping(j, "--json", eval("--json", j.toString()));
        assertEquals("keep me", Files.readString(j));
        ok(eval("--json", j.toString(), "--force"));
        assertTrue(Files.readString(j).contains("top1"));
        assertEquals("rw-r-----", PosixFilePermissions.toString(Files.getPosixFilePermissions(j)));
    }

    @Test
    void theSavedGraphsLogIsAnOutputToo() throws Exception {
        Path out = dir.resolve("saved.dfq");
        Path log = Files.writeString(dir.resolve("saved.dfq.log.json"), "an older log");
        refusedKeeping(log, "--out", eval("--out", out.toString()));
        assertFalse(Files.exists(out));
    }

    @Test
    void unusableOutputFoldersAreFoundBeforeAnyWork() throws Exception {
        Path file = Files.writeString(dir.resolve("plain.txt"), "a file, not a folder");
        refusedKeeping(file, "--json", eval("--json", file.resolve("r.json").toString()));
        Path folder = Files.createDirectories(dir.resolve("a-folder"));
        dfq(eval("--json", folder.toString())).failsWithOneLine("--json", "folder");
    }

    @Test
    void twoOutputsMayNotNameTheSameFile() {
        Path same = dir.resolve("same.out");
        dfq("table", "--model", model.toString(), "--images", photos.toString(), "--labels", classes.toString(),
                "--json", same.toString(), "--markdown", same.toString()).failsWithOneLine("--json", "--markdown");
        assertFalse(Files.exists(same));
    }

    @Test
    void overlaysMayNotReplaceAPhotograph() {
        DfqRun r = dfq("eval", "--task", "segmentation", "--model", segmenter.toString(), "--images", photos.toString(),
                "--preprocess", "unit", "--quantize", "--act-range", "calib", "--calib", "2", "--calib-images",
                photos.toString(), "--save-overlays", photos.toString(), "--force");
        r.failsWithOneLine("--save-overlays", "green_0.png");
    }

    @Test
    void aStaleTemporaryFileOfAKilledSaveIsRemovedByTheNextSave() throws Exception {
        Path d = Files.createDirectories(dir.resolve("saves"));
        Path out = d.resolve("q.dfq");
        Path stale = Files.writeString(d.resolve(".q.dfq8234234234.tmp"), "half a zip"); // what SIGKILL left
        ok(eval("--out", out.toString()));
        assertTrue(Files.exists(out));
        assertFalse(Files.exists(stale), "stale temporary file left");
        try (Stream<Path> s = Files.list(d)) {
            assertEquals(List.of("q.dfq", "q.dfq.log.json"), s.map(p -> p.getFileName().toString()).sorted().toList());
        }
    }
}
