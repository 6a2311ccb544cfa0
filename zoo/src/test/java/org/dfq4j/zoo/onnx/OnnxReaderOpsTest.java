package org.dfq4j.zoo.onnx;

import static org.dfq4j.zoo.onnx.OnnxModelWriter.ints;
import static org.dfq4j.zoo.onnx.OnnxModelWriter.real;
import static org.dfq4j.zoo.onnx.OnnxModelWriter.string;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;

import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import org.dfq4j.rewrite.graph.Network;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;

/**
 * Single ops in their older (opset 9) forms, each checked against an element-by-element computation:
 * normalisation by constants (Sub, Div), Clip with other bounds, Upsample nearest, Pad from
 * attributes, MaxPool whose explicit asymmetric pads equal SAME (on negative inputs, where padding
 * must not win), GlobalAveragePool + Squeeze + Softmax + Unsqueeze.
 */
class OnnxReaderOpsTest {

    private static final double TOL = 1e-5;

    @TempDir
    Path dir;

    @Test
    void opsMatchElementwiseComputation() throws Exception {
        INDArray mean = Nd4j.createFromArray(0.5f, -1f).reshape(2, 1, 1);
        INDArray std = Nd4j.createFromArray(2f, 0.25f).reshape(2, 1, 1);
        OnnxModelWriter m = new OnnxModelWriter(9).input("x", -1, 2, 4, 5);
        String norm = m.node("Div", "norm", List.of(m.node("Sub", "centre", List.of("x", m.floats("mean", mean))),
                m.floats("std", std)));
        String clip = m.node("Clip", "clip", List.of(norm), real("min", -1f), real("max", 2f));
        String up = m.node("Upsample", "up", List.of("x", m.floats("scales", Nd4j.createFromArray(1f, 1f, 2f, 3f))),
                string("mode", "nearest"));
        String pad = m.node("Pad", "pad", List.of("x"), ints("pads", 0, 0, 1, 0, 0, 0, 0, 2));
        String neg = m.node("Sub", "neg", List.of("x", m.floats("ten", Nd4j.scalar(10f))));
        // 4x5 input, 3x3 window, stride 2: TF SAME pads top 0, bottom 1, left 1, right 1
        String pool = m.node("MaxPool", "pool", List.of(neg), ints("kernel_shape", 3, 3), ints("strides", 2, 2),
                ints("pads", 0, 1, 1, 1));
        String squeezed = m.node("Squeeze", "sq", List.of(m.node("GlobalAveragePool", "gap", List.of("x"))), ints("axes", 2, 3));
        String soft = m.node("Softmax", "soft", List.of(squeezed), OnnxModelWriter.integer("axis", 1));
        String unsq = m.node("Unsqueeze", "unsq", List.of(soft), ints("axes", 2));
        for (String o : List.of(norm, clip, up, pad, pool, soft, unsq)) {
            m.output(o);
        }
        Network net = OnnxReader.read(m.write(dir.resolve("ops.onnx")));
        Nd4j.getRandom().setSeed(5);
        INDArray x = Nd4j.randn(DataType.FLOAT, 3, 2, 4, 5).muli(2);
        Map<String, INDArray> out = net.run(x);
        List<String> names = net.outputs();

        INDArray expNorm = Nd4j.create(DataType.FLOAT, 3, 2, 4, 5);
        INDArray expClip = expNorm.ulike();
        INDArray expUp = Nd4j.create(DataType.FLOAT, 3, 2, 8, 15);
        INDArray expPad = Nd4j.zeros(DataType.FLOAT, 3, 2, 5, 7);
        INDArray expPool = Nd4j.create(DataType.FLOAT, 3, 2, 2, 3);
        INDArray expSoft = Nd4j.create(DataType.FLOAT, 3, 2);
        for (int n = 0; n < 3; n++) {
            double[] avg = new double[2];
            for (int c = 0; c < 2; c++) {
                for (int h = 0; h < 4; h++) {
                    for (int w = 0; w < 5; w++) {
                        double v = x.getDouble(n, c, h, w);
                        double z = (v - mean.getDouble(c, 0, 0)) / std.getDouble(c, 0, 0);
                        expNorm.putScalar(new long[] {n, c, h, w}, z);
                        expClip.putScalar(new long[] {n, c, h, w}, Math.max(-1, Math.min(2, z)));
                        expPad.putScalar(new long[] {n, c, h + 1, w}, v);
                        avg[c] += v / 20;
                        for (int i = 0; i < 2; i++) {
                            for (int j = 0; j < 3; j++) {
                                expUp.putScalar(new long[] {n, c, 2 * h + i, 3 * w + j}, v);
                            }
                        }
                    }
                }
                for (int oh = 0; oh < 2; oh++) {
                    for (int ow = 0; ow < 3; ow++) {
                        double best = Double.NEGATIVE_INFINITY;
                        for (int h = 2 * oh; h < 2 * oh + 3; h++) {
                            for (int w = 2 * ow - 1; w < 2 * ow + 2; w++) {
                                if (h < 4 && w >= 0 && w < 5) {
                                    best = Math.max(best, x.getDouble(n, c, h, w) - 10);
                                }
                            }
                        }
                        expPool.putScalar(new long[] {n, c, oh, ow}, best);
                    }
                }
            }
            double e0 = Math.exp(avg[0]);
            double e1 = Math.exp(avg[1]);
            expSoft.putScalar(n, 0, e0 / (e0 + e1));
            expSoft.putScalar(n, 1, e1 / (e0 + e1));
        }
        assertClose(expNorm, out.get(names.get(0)), "Sub/Div");
        assertClose(expClip, out.get(names.get(1)), "Clip(-1, 2)");
        assertClose(expUp, out.get(names.get(2)), "Upsample nearest");
        assertClose(expPad, out.get(names.get(3)), "Pad");
        assertClose(expPool, out.get(names.get(4)), "MaxPool SAME");
        assertClose(expSoft, out.get(names.get(5)), "Softmax");
        assertArrayEquals(new long[] {3, 2, 1}, out.get(names.get(6)).shape());
    }

    private static void assertClose(INDArray expected, INDArray actual, String what) {
        assertArrayEquals(expected.shape(), actual.shape(), what);
        double diff = actual.sub(expected).amaxNumber().doubleValue();
        if (diff > TOL * Math.max(1, expected.amaxNumber().doubleValue())) {
            throw new AssertionError(what + ": max difference " + diff);
        }
    }
}
