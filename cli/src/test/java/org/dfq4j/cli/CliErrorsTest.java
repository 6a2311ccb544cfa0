package org.dfq4j.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.List;
import java.util.Random;
import org.dfq4j.zoo.onnx.OnnxModelWriter;
import org.junit.jupiter.api.Test;

/** Bad input gets a one-line error naming the thing, a non-zero exit, and the input file untouched. */
class CliErrorsTest extends TinyClassifierTest {

    /** Runs a command, checking that it modified no input ({@link DfqRun}). */
    static DfqRun dfq(String... args) {
        return DfqRun.dfq(args);
    }

    static void assertOneLineError(DfqRun r, String names) {
        r.failsWithOneLine(names);
    }

    private static Path imagesWith(String name, byte[] content) throws Exception {
        Path d = Files.createTempDirectory(dir, "images");
        Files.write(d.resolve(name), content);
        return d;
    }

    @Test
    void badInputShape() throws Exception {
        for (String bad : List.of("3,224", "3,0,8", "a,b,c")) {
            assertOneLineError(dfq("info", "--model", model.toString(), "--input-shape", bad), "--input-shape");
        }
        // a fixed input that the option contradicts
        assertOneLineError(dfq("info", "--model", model.toString(), "--input-shape", "3,16,16"), "tiny.onnx");
        assertOneLineError(dfq("info"), "--model");
    }

    @Test
    void truncatedModel() throws Exception {
        byte[] all = Files.readAllBytes(model);
        Path cut = Files.write(dir.resolve("cut.onnx"), Arrays.copyOf(all, all.length / 2));
        byte[] before = Files.readAllBytes(cut);
        assertOneLineError(dfq("info", "--model", cut.toString()), "cut.onnx");
        assertEquals(Arrays.toString(before), Arrays.toString(Files.readAllBytes(cut)), "input file modified");
    }

    @Test
    void randomBytesModel() throws Exception {
        byte[] junk = new byte[4096];
        new Random(5).nextBytes(junk);
        for (String name : List.of("junk.onnx", "junk.tflite", "junk.dfq")) {
            Path p = Files.write(dir.resolve(name), junk);
            assertOneLineError(dfq("info", "--model", p.toString()), name);
        }
    }

    @Test
    void missingModelAndUnknownFormat() throws Exception {
        assertOneLineError(dfq("info", "--model", dir.resolve("nothing.onnx").toString()), "nothing.onnx");
        Path txt = Files.writeString(dir.resolve("model.txt"), "hello");
        assertOneLineError(dfq("info", "--model", txt.toString()), "model.txt");
    }

    @Test
    void unknownOp() throws Exception {
        OnnxModelWriter m = new OnnxModelWriter(13).input("x", -1, 3, 8, 8);
        m.output(m.node("Einsum", "mystery", List.of("x")));
        Path p = m.write(dir.resolve("einsum.onnx"));
        DfqRun r = dfq("info", "--model", p.toString());
        assertOneLineError(r, "einsum.onnx");
        assertTrue(r.err().contains("Einsum"), r.err());
    }

    @Test
    void folderWithoutImages() throws Exception {
        Path empty = Files.createTempDirectory(dir, "empty");
        assertOneLineError(dfq("eval", "--model", model.toString(), "--images", empty.toString(),
                "--labels", classes.toString()), empty.getFileName().toString());
    }

    @Test
    void imageThatIsNotAnImage() throws Exception {
        byte[] junk = new byte[2000];
        new Random(9).nextBytes(junk);
        Path images = imagesWith("n01_fake.JPEG", junk);
        assertOneLineError(dfq("eval", "--model", model.toString(), "--images", images.toString(),
                "--labels", classes.toString()), "n01_fake.JPEG");
    }

    @Test
    void impossibleOptions() throws Exception {
        assertOneLineError(dfq("eval", "--model", model.toString(), "--images", dir.toString(),
                "--labels", classes.toString(), "--batch", "0"), "--batch");
        assertOneLineError(dfq("eval", "--model", model.toString(), "--images", dir.toString(),
                "--labels", classes.toString(), "--preprocess", "crop=banana"), "crop");
        DfqRun r = dfq("eval", "--model");
        assertEquals(2, r.code());
        // steps that need BatchNorm statistics on a model without BatchNorm say so
        Path photos = imagesWith("n01_red.png", new byte[0]);
        assertOneLineError(dfq("eval", "--model", model.toString(), "--images", photos.toString(),
                "--labels", classes.toString(), "--absorb"), "--absorb");
        assertOneLineError(dfq("eval", "--model", model.toString(), "--images", photos.toString(),
                "--labels", classes.toString(), "--correct=analytic", "--quantize"), "--correct=analytic");
        assertOneLineError(dfq("eval", "--model", model.toString(), "--images", photos.toString(),
                "--labels", classes.toString(), "--quantize", "--fake-quant", "fast"), "--fake-quant");
        // one way to say the calibration count: --calib N, and the range source is just calib
        assertOneLineError(dfq("eval", "--model", model.toString(), "--images", photos.toString(),
                "--labels", classes.toString(), "--quantize", "--act-range", "calib:7"), "--act-range");
        assertOneLineError(dfq("eval", "--model", model.toString(), "--images", photos.toString(),
                "--labels", classes.toString(), "--correct", "sometimes"), "--correct");
        assertOneLineError(dfq("table", "--model", model.toString(), "--images", photos.toString(),
                "--labels", classes.toString(), "--task", "poetry"), "--task");
        // overlays of a task that draws none are refused before any work (the photograph here would not decode)
        assertOneLineError(dfq("eval", "--model", model.toString(), "--images", photos.toString(),
                "--labels", classes.toString(), "--quantize", "--save-overlays", dir.resolve("o").toString()),
                "--save-overlays needs --task segmentation or detection");
        // table runs its own rows: a float rewrite flag is refused, named as given
        assertOneLineError(dfq("table", "--model", model.toString(), "--images", photos.toString(),
                "--labels", classes.toString(), "--equalize", "--relu"), "drop --relu --equalize");
    }
}
