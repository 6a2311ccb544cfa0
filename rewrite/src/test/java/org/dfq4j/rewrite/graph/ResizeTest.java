package org.dfq4j.rewrite.graph;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import org.junit.jupiter.api.Test;
import org.nd4j.autodiff.samediff.SDVariable;
import org.nd4j.autodiff.samediff.SameDiff;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;

/** NetworkBuilder's resizes: the same values as ND4J's own resize op, and graphs holding them copy. */
class ResizeTest {

    /** ND4J's resize_bilinear on NHWC data, in a graph of its own (never copied). */
    private static INDArray reference(INDArray nchw, int h, int w, boolean align, boolean half) {
        SameDiff sd = SameDiff.create();
        SDVariable x = sd.constant(nchw.permute(0, 2, 3, 1).dup());
        SDVariable r = sd.image().resizeBiLinear("r", x, h, w, align, half);
        return r.eval().permute(0, 3, 1, 2).dup();
    }

    @Test
    void bilinearMatchesNd4jInEveryMode() {
        Nd4j.getRandom().setSeed(2);
        INDArray x = Nd4j.rand(DataType.FLOAT, 2, 3, 5, 7);
        int[][] sizes = {{9, 13}, {3, 4}, {17, 7}};
        for (boolean[] mode : new boolean[][] {{false, false}, {true, false}, {false, true}}) {
            for (int[] s : sizes) {
                NetworkBuilder b = new NetworkBuilder("resize", 3, 5, 7);
                b.resizeBilinear("up", b.input(), 3, 5, 7, s[0], s[1], mode[0], mode[1]);
                Network net = b.build("up");
                INDArray expected = reference(x, s[0], s[1], mode[0], mode[1]);
                INDArray got = net.output(x);
                assertEquals(0, expected.sub(got).amaxNumber().doubleValue(), 1e-5,
                        "align=" + mode[0] + " half=" + mode[1] + " size " + s[0] + "x" + s[1]);
                assertEquals(got, net.copy().output(x), "a copy computes the same");
            }
        }
    }

    @Test
    void interpolationRowsSumToOne() {
        for (boolean align : new boolean[] {false, true}) {
            for (boolean half : new boolean[] {false, true}) {
                INDArray m = NetworkBuilder.interpolation(33, 257, align, half);
                INDArray sums = m.sum(1);
                assertTrue(sums.sub(1).amaxNumber().doubleValue() < 1e-6, "rows must sum to 1");
            }
        }
    }

    @Test
    void nearestSurvivesACopy() {
        NetworkBuilder b = new NetworkBuilder("nearest", 2, 3, 3);
        b.resizeNearest("up", b.input(), 6, 6);
        Network net = b.build("up");
        INDArray x = Nd4j.rand(DataType.FLOAT, 1, 2, 3, 3);
        INDArray y = net.output(x);
        assertEquals(x.getDouble(0, 1, 2, 0), y.getDouble(0, 1, 5, 1), 0);
        assertEquals(y, net.copy().output(x));
    }
}
