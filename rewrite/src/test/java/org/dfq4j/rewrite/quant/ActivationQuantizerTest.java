package org.dfq4j.rewrite.quant;

import static org.junit.jupiter.api.Assertions.assertEquals;

import java.util.Random;
import org.junit.jupiter.api.Test;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;

class ActivationQuantizerTest {

    @Test
    void reproducesTheLevelsOfNd4jsFakeQuant() {
        Nd4j.getRandom().setSeed(3);
        INDArray x = Nd4j.randn(DataType.FLOAT, 1, 20000).muli(3);
        for (double[] range : new double[][] {{-1, 1}, {0, 6}, {-0.37, 2.9}, {-5.5, 0.25}}) {
            INDArray y = Nd4j.getExecutioner().exec(new org.nd4j.linalg.api.ops.impl.transforms.custom
                    .FakeQuantWithMinMaxVars(x, Nd4j.createFromArray((float) range[0]), Nd4j.createFromArray((float) range[1]), 8,
                    false))[0];
            ActivationQuantizer q = ActivationQuantizer.of(range[0], range[1], 8, false);
            for (int i = 0; i < x.length(); i++) {
                // the same level (the kernel may fuse its last multiply-add: a last-bit difference at most)
                assertEquals(y.getFloat(i), q.fakeQuantize(x.getFloat(i)), 1e-6f * Math.max(1, Math.abs(y.getFloat(i))),
                        "x = " + x.getFloat(i));
            }
            // the op's values are the quantizer's levels: (level - zero point) * scale
            assertEquals(q.lowLevel() * q.scale(), y.minNumber().floatValue(), 1e-6f);
        }
    }

    @Test
    void aRangeGivesBackExactlyItsQuantizer() {
        Random r = new Random(5);
        for (int k = 0; k < 2000; k++) {
            double lo = -r.nextDouble() * Math.pow(10, r.nextInt(4) - 1);
            double hi = r.nextDouble() * Math.pow(10, r.nextInt(4) - 1);
            int bits = 2 + r.nextInt(15);
            ActivationQuantizer q = ActivationQuantizer.of(lo, hi, bits, false);
            float[] range = q.range();
            assertEquals(q, ActivationQuantizer.of(range[0], range[1], bits, false), "[" + lo + ", " + hi + "] " + bits);
        }
    }
}
