package org.dfq4j.zoo.onnx;

import static org.dfq4j.zoo.onnx.OnnxModelWriter.integer;
import static org.dfq4j.zoo.onnx.OnnxModelWriter.ints;
import static org.dfq4j.zoo.onnx.OnnxModelWriter.real;
import static org.dfq4j.zoo.onnx.OnnxModelWriter.string;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import org.dfq4j.rewrite.testing.OpCounts;
import org.dfq4j.rewrite.DfqException;
import org.dfq4j.rewrite.graph.Network;
import org.dfq4j.rewrite.graph.NetworkBuilder;
import org.dfq4j.rewrite.graph.Padding;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;
import org.nd4j.autodiff.samediff.SDVariable;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;

/**
 * The acceptance test: a MobileNet-like block written as ONNX with the protobuf builders
 * (strided conv, BatchNorm, Clip(0,6), depthwise conv, 1x1 conv, residual Add, asymmetric-padding
 * conv, depthwise x2 with SAME_UPPER, LeakyRelu, AveragePool, GlobalAveragePool, flatten, Gemm) must
 * compute what the same network built directly with {@link NetworkBuilder} computes, the weights
 * converted here independently of the reader.
 */
class OnnxReaderTest {

    private static final long[] CHW = {3, 17, 15};
    private static final float EPS = 1e-3f;

    @TempDir
    Path dir;

    /** Weights in ONNX layouts, seeded. */
    record Weights(INDArray w1, INDArray b1, INDArray[] bn1, INDArray w2, INDArray[] bn2, INDArray w3, INDArray[] bn3,
                   INDArray w4, INDArray b4, INDArray w5, INDArray b5, INDArray w6, INDArray b6) {

        static Weights random(long seed) {
            Nd4j.getRandom().setSeed(seed);
            return new Weights(he(8, 3, 3, 3), small(8), bn(8), he(8, 1, 3, 3), bn(8), he(8, 8, 1, 1), bn(8),
                    he(12, 8, 3, 3), small(12), he(24, 1, 3, 3), small(24), he(10, 24), small(10));
        }

        /** Weights scaled by 1/sqrt(fan-in), so pre-activations have roughly unit variance. */
        private static INDArray he(long... shape) {
            long fanIn = 1;
            for (int i = 1; i < shape.length; i++) {
                fanIn *= shape[i];
            }
            return Nd4j.randn(DataType.FLOAT, shape).muli(1.0 / Math.sqrt(fanIn));
        }

        private static INDArray small(long n) {
            return Nd4j.randn(DataType.FLOAT, n).muli(0.1);
        }

        /** gamma, beta, running mean, running variance near the statistics unit-variance inputs give. */
        private static INDArray[] bn(long c) {
            return new INDArray[] {Nd4j.rand(DataType.FLOAT, c).muli(1.0).addi(0.5), small(c),
                    small(c), Nd4j.rand(DataType.FLOAT, c).muli(1.0).addi(0.5)};
        }
    }

    @ParameterizedTest(name = "opset {0}, flatten as {1}, dense as {2}")
    @CsvSource({"13, Flatten, Gemm", "13, ShapeArithmetic, Gemm", "13, ShapeArithmetic, MatMulAdd",
            "10, ShapeArithmetic, MatMulAdd", "10, Flatten, Gemm"})
    void importEqualsDirectConstruction(int opset, String flatten, String dense) throws Exception {
        Weights w = Weights.random(1234);
        Path file = writeBlock(new OnnxModelWriter(opset), w, flatten.equals("ShapeArithmetic"),
                dense.equals("MatMulAdd")).write(dir.resolve("block.onnx"));

        Network imported = OnnxReader.read(file);
        Network reference = reference(w);

        Nd4j.getRandom().setSeed(99);
        INDArray x = Nd4j.randn(DataType.FLOAT, 4, CHW[0], CHW[1], CHW[2]);
        INDArray expected = reference.output(x);
        INDArray actual = imported.output(x);
        assertArrayEquals(new long[] {4, 10}, actual.shape());
        double scale = expected.amaxNumber().doubleValue();
        double diff = actual.sub(expected).amaxNumber().doubleValue();
        assertTrue(diff <= 1e-5 * scale, "max |imported - reference| = " + diff + " at output scale " + scale);
        assertTrue(expected.std(0).minNumber().doubleValue() > 1e-3, "outputs do not depend on the input");
        // the same op vocabulary as the direct construction: shape arithmetic folded, MatMul+Add one dense
        assertEquals(opCounts(reference), opCounts(imported));
        assertEquals("onnx", imported.properties().get("format"));
        assertEquals(file.toString(), imported.properties().get("source"));
    }

    @Test
    void batchNormStatisticsKeepActivationsUnsaturated() throws Exception {
        Weights w = Weights.random(1234);
        Network imported = OnnxReader.read(writeBlock(new OnnxModelWriter(13), w, false, false)
                .write(dir.resolve("block.onnx")));
        INDArray x = Nd4j.randn(DataType.FLOAT, 4, CHW[0], CHW[1], CHW[2]);
        INDArray relu6 = imported.run(x, List.of("r1")).get("r1");
        double saturated = relu6.gte(6.0).castTo(DataType.FLOAT).meanNumber().doubleValue();
        double active = relu6.gt(0.0).castTo(DataType.FLOAT).meanNumber().doubleValue();
        assertTrue(saturated < 0.05, "fraction at 6: " + saturated);
        assertTrue(active > 0.2 && active < 0.9, "fraction above 0: " + active);
    }

    @Test
    void symbolicInputNeedsAnExplicitShape() throws Exception {
        Weights w = Weights.random(7);
        OnnxModelWriter m = new OnnxModelWriter(13);
        Path file = writeBlock(m, w, true, false, new long[] {-1, 3, -1, -1}).write(dir.resolve("symbolic.onnx"));

        DfqException e = assertThrows(DfqException.class, () -> OnnxReader.read(file));
        assertTrue(e.getMessage().contains("symbolic.onnx") && e.getMessage().contains("--input-shape C,H,W"), e.getMessage());

        Network imported = OnnxReader.read(file, CHW);
        assertArrayEquals(CHW, imported.inputShape());
        INDArray x = Nd4j.randn(DataType.FLOAT, 2, CHW[0], CHW[1], CHW[2]);
        INDArray expected = reference(w).output(x);
        assertTrue(imported.output(x).sub(expected).amaxNumber().doubleValue() <= 1e-5 * expected.amaxNumber().doubleValue());

        DfqException contradiction = assertThrows(DfqException.class, () -> OnnxReader.read(file, new long[] {4, 17, 15}));
        assertTrue(contradiction.getMessage().contains("contradicts"), contradiction.getMessage());
    }

    /** An export with a fixed batch of 1 bakes the reshape target [1, 24]; the network still takes any batch. */
    @Test
    void fixedBatchExportRunsOtherBatchSizes() throws Exception {
        Weights w = Weights.random(11);
        OnnxModelWriter m = new OnnxModelWriter(13);
        Path file = writeBlock(m, w, false, false, new long[] {1, 3, 17, 15}).write(dir.resolve("batch1.onnx"));
        // same model, but the flatten is Reshape(g, [1, -1]) as a constant-folded export writes it
        OnnxModelWriter fixed = new OnnxModelWriter(13);
        Path folded = writeBlock(fixed, w, false, false, new long[] {1, 3, 17, 15}, true).write(dir.resolve("folded.onnx"));
        INDArray x = Nd4j.randn(DataType.FLOAT, 3, CHW[0], CHW[1], CHW[2]);
        INDArray expected = reference(w).output(x);
        for (Path p : List.of(file, folded)) {
            INDArray y = OnnxReader.read(p).output(x);
            assertTrue(y.sub(expected).amaxNumber().doubleValue() <= 1e-5 * expected.amaxNumber().doubleValue(), p.toString());
        }
    }

    private static OnnxModelWriter writeBlock(OnnxModelWriter m, Weights w, boolean shapeArithmetic, boolean matMulAdd) {
        return writeBlock(m, w, shapeArithmetic, matMulAdd, new long[] {-1, 3, 17, 15});
    }

    private static OnnxModelWriter writeBlock(OnnxModelWriter m, Weights w, boolean shapeArithmetic, boolean matMulAdd,
                                              long[] inputDims) {
        return writeBlock(m, w, shapeArithmetic, matMulAdd, inputDims, false);
    }

    /** The test network in ONNX, in the forms an exporter of the given opset writes. */
    private static OnnxModelWriter writeBlock(OnnxModelWriter m, Weights w, boolean shapeArithmetic, boolean matMulAdd,
                                              long[] inputDims, boolean constantReshape) {
        m.input("image", inputDims);
        String c1 = m.node("Conv", "c1", List.of("image", m.floats("w1", w.w1()), m.floats("b1", w.b1())),
                ints("strides", 2, 2), ints("pads", 1, 1, 1, 1), ints("kernel_shape", 3, 3));
        String r1 = relu6(m, "r1", batchNorm(m, "n1", c1, w.bn1()));
        String c2 = m.node("Conv", "c2", List.of(r1, m.floats("w2", w.w2())), ints("pads", 1, 1, 1, 1), integer("group", 8));
        String r2 = relu6(m, "r2", batchNorm(m, "n2", c2, w.bn2()));
        String c3 = m.node("Conv", "c3", List.of(r2, m.floats("w3", w.w3())));
        String a = m.node("Add", "residual", List.of(r1, batchNorm(m, "n3", c3, w.bn3())));
        // pads [top, left, bottom, right]: one extra row at the bottom and column at the right
        String c4 = m.node("Conv", "c4", List.of(a, m.floats("w4", w.w4()), m.floats("b4", w.b4())), ints("pads", 0, 0, 1, 1));
        String r4 = m.node("Relu", "r4", List.of(c4));
        String c5 = m.node("Conv", "c5", List.of(r4, m.floats("w5", w.w5()), m.floats("b5", w.b5())), integer("group", 12),
                ints("strides", 2, 2), string("auto_pad", "SAME_UPPER"));
        String r5 = m.node("LeakyRelu", "r5", List.of(c5), real("alpha", 0.2f));
        String p = m.node("AveragePool", "p", List.of(r5), ints("kernel_shape", 3, 3), ints("pads", 1, 1, 1, 1),
                integer("count_include_pad", 0));
        String g = m.node("GlobalAveragePool", "g", List.of(p));
        String f;
        if (constantReshape) {
            f = m.node("Reshape", "flat", List.of(g, m.longs("flat_shape", 1, -1)));
        } else if (shapeArithmetic) {
            // what torch.onnx writes for x.view(x.size(0), -1)
            String shape = m.node("Shape", "shape", List.of(g));
            String n = m.node("Gather", "batch", List.of(shape, m.constant(Nd4j.scalar(0L))), integer("axis", 0));
            String u = m.opset() >= 13 ? m.node("Unsqueeze", "unsq", List.of(n, m.constant(Nd4j.createFromArray(0L))))
                    : m.node("Unsqueeze", "unsq", List.of(n), ints("axes", 0));
            String cat = m.node("Concat", "target", List.of(u, m.constant(Nd4j.createFromArray(-1L))), integer("axis", 0));
            String cast = m.node("Cast", "target64", List.of(cat), integer("to", 7));
            f = m.node("Reshape", "flat", List.of(g, cast));
        } else {
            f = m.node("Flatten", "flat", List.of(g), integer("axis", 1));
        }
        String out;
        if (matMulAdd) {
            String mm = m.node("MatMul", "fc", List.of(f, m.floats("w6t", w.w6().transpose())));
            out = m.node("Add", "fc_bias", List.of(mm, m.floats("b6", w.b6())));
        } else {
            out = m.node("Gemm", "fc", List.of(f, m.floats("w6", w.w6()), m.floats("b6", w.b6())), integer("transB", 1));
        }
        return m.output(out);
    }

    private static String batchNorm(OnnxModelWriter m, String name, String x, INDArray[] bn) {
        return m.node("BatchNormalization", name, List.of(x, m.floats(name + "_gamma", bn[0]), m.floats(name + "_beta", bn[1]),
                m.floats(name + "_mean", bn[2]), m.floats(name + "_var", bn[3])), real("epsilon", EPS));
    }

    /** Clip(0, 6): bounds as attributes before opset 11, as constant inputs from 11 on. */
    private static String relu6(OnnxModelWriter m, String name, String x) {
        if (m.opset() < 11) {
            return m.node("Clip", name, List.of(x), real("min", 0f), real("max", 6f));
        }
        return m.node("Clip", name, List.of(x, m.constant(Nd4j.scalar(0f)), m.constant(Nd4j.scalar(6f))));
    }

    /** The same network built directly, weights converted from the ONNX layouts element by element. */
    private static Network reference(Weights w) {
        NetworkBuilder b = new NetworkBuilder("reference", CHW[0], CHW[1], CHW[2]);
        SDVariable c1 = b.conv2d("c1", b.input(), oihwToHwio(w.w1()), w.b1(), 2, 2, Padding.explicit(1, 1, 1, 1), 1, 1);
        SDVariable r1 = b.relu6("r1", bn(b, "n1", c1, w.bn1()));
        SDVariable c2 = b.depthwiseConv2d("c2", r1, depthwiseToHwcm(w.w2(), 8), null, 1, 1, Padding.explicit(1, 1, 1, 1), 1, 1);
        SDVariable r2 = b.relu6("r2", bn(b, "n2", c2, w.bn2()));
        SDVariable c3 = b.conv2d("c3", r2, oihwToHwio(w.w3()), null, 1, 1, Padding.VALID, 1, 1);
        SDVariable a = b.add("residual", r1, bn(b, "n3", c3, w.bn3()));
        SDVariable c4 = b.conv2d("c4", a, oihwToHwio(w.w4()), w.b4(), 1, 1, Padding.explicit(0, 1, 0, 1), 1, 1);
        SDVariable r4 = b.relu("r4", c4);
        SDVariable c5 = b.depthwiseConv2d("c5", r4, depthwiseToHwcm(w.w5(), 12), w.b5(), 2, 2, Padding.SAME, 1, 1);
        SDVariable r5 = b.leakyRelu("r5", c5, 0.2);
        SDVariable p = b.avgPool("p", r5, 3, 3, 1, 1, Padding.explicit(1, 1, 1, 1));
        SDVariable g = b.globalAvgPool("g", p, true);
        SDVariable f = b.flatten("flat", g, 24);
        b.dense("fc", f, transpose(w.w6()), w.b6());
        return b.build("fc");
    }

    private static SDVariable bn(NetworkBuilder b, String name, SDVariable x, INDArray[] p) {
        return b.batchNorm(name, x, p[2], p[3], p[0], p[1], EPS);
    }

    private static INDArray oihwToHwio(INDArray w) {
        long o = w.size(0), in = w.size(1), kh = w.size(2), kw = w.size(3);
        INDArray r = Nd4j.create(DataType.FLOAT, kh, kw, in, o);
        for (long a = 0; a < o; a++) {
            for (long c = 0; c < in; c++) {
                for (long y = 0; y < kh; y++) {
                    for (long x = 0; x < kw; x++) {
                        r.putScalar(new long[] {y, x, c, a}, w.getFloat(a, c, y, x));
                    }
                }
            }
        }
        return r;
    }

    /** [C*m, 1, kh, kw] with output channel o reading input channel o / m -> [kh, kw, C, m]. */
    private static INDArray depthwiseToHwcm(INDArray w, long channels) {
        long out = w.size(0), mult = out / channels, kh = w.size(2), kw = w.size(3);
        INDArray r = Nd4j.create(DataType.FLOAT, kh, kw, channels, mult);
        for (long o = 0; o < out; o++) {
            for (long y = 0; y < kh; y++) {
                for (long x = 0; x < kw; x++) {
                    r.putScalar(new long[] {y, x, o / mult, o % mult}, w.getFloat(o, 0, y, x));
                }
            }
        }
        return r;
    }

    private static INDArray transpose(INDArray w) {
        INDArray r = Nd4j.create(DataType.FLOAT, w.size(1), w.size(0));
        for (long i = 0; i < w.size(0); i++) {
            for (long j = 0; j < w.size(1); j++) {
                r.putScalar(j, i, w.getFloat(i, j));
            }
        }
        return r;
    }

    private static Map<?, Integer> opCounts(Network net) {
        return OpCounts.of(net);
    }
}
