package org.dfq4j.zoo.onnx;

import static org.dfq4j.zoo.onnx.OnnxModelWriter.integer;
import static org.dfq4j.zoo.onnx.OnnxModelWriter.ints;

import java.nio.file.Path;
import java.util.List;
import org.dfq4j.rewrite.DfqException;
import org.dfq4j.zoo.ReaderAssertions;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;

/** Numbers and attributes of an ONNX model checked at read time, each failure one line naming file and node or tensor. */
class OnnxReaderValidationTest {

    @TempDir
    Path dir;

    private static DfqException refused(Path f, String... mustName) {
        return ReaderAssertions.refused(() -> OnnxReader.read(f), f, mustName);
    }

    private Path conv(String name, INDArray w) throws Exception {
        OnnxModelWriter m = new OnnxModelWriter(13).input("x", 1, 3, 8, 8);
        m.output(m.node("Conv", "conv", List.of("x", m.floats("conv.weight", w))));
        return m.write(dir.resolve(name));
    }

    @Test
    void nonFiniteInitializersAreRefusedNamingTheTensor() throws Exception {
        INDArray w = Nd4j.rand(DataType.FLOAT, 4, 3, 3, 3);
        OnnxReader.read(conv("ok.onnx", w));
        INDArray nan = w.dup();
        nan.putScalar(5, Float.NaN);
        refused(conv("nan.onnx", nan), "conv.weight", "NaN");
        INDArray inf = w.dup();
        inf.putScalar(0, Float.NEGATIVE_INFINITY);
        refused(conv("inf.onnx", inf), "conv.weight", "Infinity");
    }

    @Test
    void negativeBatchNormVarianceIsRefused() throws Exception {
        OnnxModelWriter m = new OnnxModelWriter(13).input("x", 1, 2, 4, 4);
        m.output(m.node("BatchNormalization", "bn", List.of("x", m.floats("g", Nd4j.ones(DataType.FLOAT, 2)),
                m.floats("b", Nd4j.zeros(DataType.FLOAT, 2)), m.floats("mean", Nd4j.zeros(DataType.FLOAT, 2)),
                m.floats("var", Nd4j.createFromArray(1f, -1f)))));
        refused(m.write(dir.resolve("bn.onnx")), "bn", "var", "negative");
    }

    @Test
    void groupsMustDivideTheChannels() throws Exception {
        OnnxModelWriter m = new OnnxModelWriter(13).input("x", 1, 4, 8, 8);
        m.output(m.node("Conv", "grouped", List.of("x", m.floats("w", Nd4j.rand(DataType.FLOAT, 4, 1, 3, 3))),
                integer("group", 3)));
        refused(m.write(dir.resolve("group.onnx")), "grouped", "group");
        OnnxModelWriter z = new OnnxModelWriter(13).input("x", 1, 4, 8, 8);
        z.output(z.node("Conv", "zero", List.of("x", z.floats("w", Nd4j.rand(DataType.FLOAT, 4, 4, 3, 3))),
                integer("group", 0)));
        refused(z.write(dir.resolve("group0.onnx")), "zero", "group");
    }

    @Test
    void aPoolLargerThanItsPaddedInputIsRefused() throws Exception {
        OnnxModelWriter m = new OnnxModelWriter(13).input("x", 1, 2, 8, 8);
        m.output(m.node("MaxPool", "pool", List.of("x"), ints("kernel_shape", 300, 300)));
        refused(m.write(dir.resolve("pool.onnx")), "pool", "300");
        OnnxModelWriter p = new OnnxModelWriter(13).input("x", 1, 2, 8, 8);
        p.output(p.node("MaxPool", "padpool", List.of("x"), ints("kernel_shape", 3, 3), ints("pads", 5, 5, 5, 5)));
        refused(p.write(dir.resolve("pads.onnx")), "padpool", "pad");
    }

    @Test
    void anAbsurdInputSizeIsRefused() throws Exception {
        OnnxModelWriter m = new OnnxModelWriter(13).input("x", 1, 3, 100_000, 100_000);
        m.output(m.node("Relu", "relu", List.of("x")));
        refused(m.write(dir.resolve("huge.onnx")), "100000");
    }

    @Test
    void divisionByAZeroConstantIsRefused() throws Exception {
        OnnxModelWriter m = new OnnxModelWriter(13).input("x", 1, 2, 4, 4);
        m.output(m.node("Div", "div", List.of("x", m.floats("zero", Nd4j.zeros(DataType.FLOAT, 1)))));
        refused(m.write(dir.resolve("div.onnx")), "div", "zero");
    }
}
