package org.dfq4j.zoo.onnx;

import static org.dfq4j.zoo.onnx.OnnxModelWriter.integer;
import static org.dfq4j.zoo.onnx.OnnxModelWriter.ints;
import static org.dfq4j.zoo.onnx.OnnxModelWriter.real;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Path;
import java.util.List;
import org.dfq4j.rewrite.DfqException;
import org.dfq4j.rewrite.graph.Network;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;
import org.nd4j.linalg.ops.transforms.Transforms;

/**
 * The ops PyTorch exports of torchvision models need beyond the basic CNN set, each against its
 * ONNX definition computed here, and the forms that stay refused with a one-line reason.
 */
class OnnxReaderExportShapesTest {

    @TempDir
    Path dir;

    private Network read(OnnxModelWriter m, String name) throws Exception {
        return OnnxReader.read(m.write(dir.resolve(name + ".onnx")));
    }

    private static INDArray input(long... shape) {
        return Nd4j.rand(DataType.FLOAT, shape).subi(0.5).muli(8);
    }

    @Test
    void hardSigmoidAndHardSwish() throws Exception {
        OnnxModelWriter m = new OnnxModelWriter(17).input("x", -1, 2, 3, 3);
        String hs = m.node("HardSigmoid", "hs", List.of("x"), real("alpha", 0.3f), real("beta", 0.4f));
        m.output(m.node("HardSwish", "hw", List.of(hs)));
        INDArray x = input(2, 2, 3, 3);
        INDArray s = Transforms.min(Transforms.max(x.mul(0.3f).add(0.4f), 0.0), 1.0);
        INDArray expected = s.mul(Transforms.min(Transforms.max(s.div(6f).add(0.5f), 0.0), 1.0));
        assertTrue(read(m, "hard").output(x).equalsWithEps(expected, 1e-5));
    }

    @Test
    void ceilModeMaxPoolingIgnoresThePaddingItAdds() throws Exception {
        OnnxModelWriter m = new OnnxModelWriter(13).input("x", -1, 1, 5, 5);
        m.output(m.node("MaxPool", "pool", List.of("x"), ints("kernel_shape", 2, 2), ints("strides", 2, 2),
                integer("ceil_mode", 1)));
        INDArray x = input(1, 1, 5, 5).subi(10); // every value negative: zero padding would win
        INDArray y = read(m, "ceil").output(x);
        assertArrayEquals(new long[] {1, 1, 3, 3}, y.shape());
        assertEquals(x.getFloat(0, 0, 4, 4), y.getFloat(0, 0, 2, 2), 0f);
        assertEquals(Math.max(x.getFloat(0, 0, 4, 0), x.getFloat(0, 0, 4, 1)), y.getFloat(0, 0, 2, 0), 0f);
    }

    @Test
    void channelShuffleAndSplitOfActivations() throws Exception {
        OnnxModelWriter m = new OnnxModelWriter(13).input("x", -1, 4, 2, 2);
        String v = m.node("Reshape", "view", List.of("x", m.longs("s5", 0, 2, 2, 2, 2)));
        String t = m.node("Transpose", "swap", List.of(v), ints("perm", 0, 2, 1, 3, 4));
        String back = m.node("Reshape", "back", List.of(t, m.longs("s4", 0, 4, 2, 2)));
        List<String> halves = m.node("Split", "halves", List.of(back), 2, integer("axis", 1));
        m.output(m.node("Concat", "swapped", List.of(halves.get(1), halves.get(0)), integer("axis", 1)));
        INDArray x = input(2, 4, 2, 2);
        // shuffle of 2 groups of 2 channels: 0, 2, 1, 3; halves [0, 2] and [1, 3] swapped: 1, 3, 0, 2
        INDArray expected = Nd4j.concat(1, x.get(all(), pick(1), all(), all()), x.get(all(), pick(3), all(), all()),
                x.get(all(), pick(0), all(), all()), x.get(all(), pick(2), all(), all()));
        assertTrue(read(m, "shuffle").output(x).equalsWithEps(expected, 1e-6));
    }

    private static org.nd4j.linalg.indexing.INDArrayIndex all() {
        return org.nd4j.linalg.indexing.NDArrayIndex.all();
    }

    private static org.nd4j.linalg.indexing.INDArrayIndex pick(long c) {
        return org.nd4j.linalg.indexing.NDArrayIndex.interval(c, c + 1);
    }

    /** The list dfq info prints is the reader's: each listed op is converted (or refused for its form, not its name). */
    @Test
    void supportedOpsListIsWhatTheReaderConverts() throws Exception {
        for (String op : OnnxReader.SUPPORTED_OPS.keySet()) {
            OnnxModelWriter m = new OnnxModelWriter(13).input("x", -1, 2, 4, 4);
            m.output(m.node(op, "node", List.of("x")));
            try {
                read(m, op);
            } catch (DfqException e) {
                assertTrue(!e.getMessage().contains("is not supported by the ONNX reader"), op + ": " + e.getMessage());
            }
        }
        // the README's table lists the same ops
        java.nio.file.Path readme = java.nio.file.Path.of(System.getProperty("user.dir")).getParent().resolve("README.md");
        if (java.nio.file.Files.isRegularFile(readme)) {
            String text = java.nio.file.Files.readString(readme);
            for (String op : OnnxReader.SUPPORTED_OPS.keySet()) {
                assertTrue(text.contains("\n| " + op + " | "), "README.md does not list " + op);
            }
        }
        OnnxModelWriter m = new OnnxModelWriter(13).input("x", -1, 2, 4, 4);
        m.output(m.node("Einsum", "node", List.of("x")));
        DfqException e = assertThrows(DfqException.class, () -> read(m, "einsum"));
        assertTrue(e.getMessage().contains("--supported-ops"), e.getMessage());
    }

    @Test
    void refusedFormsSayWhy() throws Exception {
        OnnxModelWriter avg = new OnnxModelWriter(13).input("x", -1, 1, 5, 5);
        avg.output(avg.node("AveragePool", "pool", List.of("x"), ints("kernel_shape", 2, 2), ints("strides", 2, 2),
                integer("ceil_mode", 1)));
        DfqException e = assertThrows(DfqException.class, () -> read(avg, "avgceil"));
        assertTrue(e.getMessage().contains("ceil_mode=1"), e.getMessage());

        OnnxModelWriter batch = new OnnxModelWriter(13).input("x", -1, 2, 3, 3);
        batch.output(batch.node("Transpose", "t", List.of("x"), ints("perm", 1, 0, 2, 3)));
        e = assertThrows(DfqException.class, () -> read(batch, "transpose"));
        assertTrue(e.getMessage().contains("moves the batch axis"), e.getMessage());

        OnnxModelWriter back = new OnnxModelWriter(13).input("x", -1, 4, 3, 3);
        back.output(back.node("Slice", "s", List.of("x", back.longs("st", -1), back.longs("en", -100),
                back.longs("ax", 1), back.longs("sp", -1))));
        e = assertThrows(DfqException.class, () -> read(back, "slice"));
        assertTrue(e.getMessage().contains("only positive steps"), e.getMessage());
    }
}
