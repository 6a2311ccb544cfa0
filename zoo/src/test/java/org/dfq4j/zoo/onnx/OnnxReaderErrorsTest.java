package org.dfq4j.zoo.onnx;

import static org.dfq4j.zoo.onnx.OnnxModelWriter.integer;
import static org.dfq4j.zoo.onnx.OnnxModelWriter.ints;
import static org.dfq4j.zoo.onnx.OnnxModelWriter.real;
import static org.dfq4j.zoo.onnx.OnnxModelWriter.string;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.List;
import java.util.Random;
import org.dfq4j.rewrite.DfqException;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.factory.Nd4j;

/** Bad files and unsupported models fail with one-line {@link DfqException}s that name the file (and op). */
class OnnxReaderErrorsTest {

    @TempDir
    Path dir;

    @Test
    void truncatedModel() throws Exception {
        byte[] good = Files.readAllBytes(tinyConvModel(dir.resolve("good.onnx"), "Relu"));
        for (int keep : new int[] {good.length / 2, good.length - 3, 7}) {
            Path cut = Files.write(dir.resolve("cut" + keep + ".onnx"), Arrays.copyOf(good, keep));
            assertOneLineNaming(assertThrows(DfqException.class, () -> OnnxReader.read(cut)), cut.getFileName().toString());
        }
    }

    @ParameterizedTest
    @ValueSource(longs = {1, 2, 3, 4, 5})
    void randomBytes(long seed) throws Exception {
        byte[] noise = new byte[4096];
        new Random(seed).nextBytes(noise);
        Path file = Files.write(dir.resolve("noise" + seed + ".onnx"), noise);
        assertOneLineNaming(assertThrows(DfqException.class, () -> OnnxReader.read(file)), "noise" + seed + ".onnx");
    }

    @Test
    void emptyAndMissingFiles() throws Exception {
        Path empty = Files.write(dir.resolve("empty.onnx"), new byte[0]);
        assertOneLineNaming(assertThrows(DfqException.class, () -> OnnxReader.read(empty)), "empty.onnx");
        Path missing = dir.resolve("missing.onnx");
        assertOneLineNaming(assertThrows(DfqException.class, () -> OnnxReader.read(missing)), "missing.onnx");
    }

    @Test
    void unknownOpNamesOpNodeAndFile() throws Exception {
        Path file = tinyConvModel(dir.resolve("einsum.onnx"), "Einsum");
        DfqException e = assertThrows(DfqException.class, () -> OnnxReader.read(file));
        assertOneLineNaming(e, "einsum.onnx");
        assertTrue(e.getMessage().contains("Einsum") && e.getMessage().contains("'act'"), e.getMessage());
    }

    @Test
    void groupedConvolutionWhoseWeightsDoNotFitTheGroups() throws Exception {
        OnnxModelWriter m = new OnnxModelWriter(13).input("x", 1, 4, 8, 8);
        m.output(m.node("Conv", "grouped", List.of("x", m.floats("w", Nd4j.ones(DataType.FLOAT, 6, 3, 3, 3))),
                integer("group", 2)));
        assertRejected(m, "grouped.onnx", "3 input channels per group");
    }

    @Test
    void gemmWithAlpha() throws Exception {
        OnnxModelWriter m = new OnnxModelWriter(13).input("x", 1, 4, 1, 1);
        String f = m.node("Flatten", "flat", List.of("x"));
        m.output(m.node("Gemm", "fc", List.of(f, m.floats("w", Nd4j.ones(DataType.FLOAT, 4, 2))), real("alpha", 2f)));
        assertRejected(m, "alpha.onnx", "alpha=2.0");
    }

    @Test
    void averagePoolCountingPadding() throws Exception {
        OnnxModelWriter m = new OnnxModelWriter(13).input("x", 1, 2, 8, 8);
        m.output(m.node("AveragePool", "avg", List.of("x"), ints("kernel_shape", 3, 3), ints("pads", 1, 1, 1, 1),
                integer("count_include_pad", 1)));
        assertRejected(m, "avg.onnx", "count_include_pad=1");
    }

    @Test
    void reshapeAcrossTheBatch() throws Exception {
        OnnxModelWriter m = new OnnxModelWriter(13).input("x", -1, 2, 4, 4);
        m.output(m.node("Reshape", "r", List.of("x", m.longs("s", 4, -1))));
        Path file = m.write(dir.resolve("reshape.onnx"));
        assertOneLineNaming(assertThrows(DfqException.class, () -> OnnxReader.read(file)), "reshape.onnx");
    }

    @Test
    void danglingInput() throws Exception {
        OnnxModelWriter m = new OnnxModelWriter(13).input("x", 1, 2, 4, 4);
        m.output(m.node("Add", "add", List.of("x", "nowhere")));
        assertRejected(m, "dangling.onnx", "'nowhere'");
    }

    /** x -> Conv -> op "act" -> output. */
    private static Path tinyConvModel(Path file, String actOp) throws Exception {
        OnnxModelWriter m = new OnnxModelWriter(13).input("x", -1, 3, 8, 8);
        String c = m.node("Conv", "conv", List.of("x", m.floats("w", Nd4j.rand(DataType.FLOAT, 4, 3, 3, 3))),
                ints("pads", 1, 1, 1, 1), string("auto_pad", "NOTSET"));
        m.output(m.node(actOp, "act", List.of(c)));
        return m.write(file);
    }

    /** Writing m to {@code fileName} gives a file the reader rejects in one line naming it and {@code mentions}. */
    private void assertRejected(OnnxModelWriter m, String fileName, String mentions) throws Exception {
        Path file = m.write(dir.resolve(fileName));
        DfqException e = assertThrows(DfqException.class, () -> OnnxReader.read(file));
        assertOneLineNaming(e, fileName);
        assertTrue(e.getMessage().contains(mentions), e.getMessage());
    }

    private static void assertOneLineNaming(DfqException e, String fileName) {
        String msg = e.getMessage();
        assertTrue(msg.contains(fileName), "message does not name the file: " + msg);
        assertFalse(msg.contains("\n") || msg.contains("\r"), "message is not one line: " + msg);
    }
}
