package org.dfq4j.rewrite.transform;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;

import java.util.Random;
import org.dfq4j.rewrite.graph.WeightLayer;
import org.dfq4j.rewrite.graph.WeightLayer.Kind;
import org.junit.jupiter.api.Test;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;
import org.nd4j.linalg.indexing.NDArrayIndex;
import org.nd4j.linalg.ops.transforms.Transforms;

class LayerWeightsTest {

    private static final Random RANDOM = new Random(71);

    private static INDArray randn(long... shape) {
        return Nd4j.randn(DataType.FLOAT, shape);
    }

    private static double[] scales(int n) {
        double[] s = new double[n];
        for (int i = 0; i < n; i++) {
            s[i] = Math.exp(RANDOM.nextGaussian());
        }
        return s;
    }

    /** max|w| per output channel by ND4J reductions. */
    private static double[] outRange(Kind kind, INDArray w) {
        INDArray a = Transforms.abs(w, true);
        return switch (kind) {
            case CONV -> a.max(0, 1, 2).castTo(DataType.DOUBLE).toDoubleVector();
            case DEPTHWISE -> a.max(0, 1).reshape(a.size(2) * a.size(3)).castTo(DataType.DOUBLE).toDoubleVector();
            case DENSE -> a.max(0).castTo(DataType.DOUBLE).toDoubleVector();
        };
    }

    private static double[] inRange(Kind kind, INDArray w) {
        INDArray a = Transforms.abs(w, true);
        return (kind == Kind.DENSE ? a.max(1) : a.max(0, 1, 3)).castTo(DataType.DOUBLE).toDoubleVector();
    }

    /** w scaled per output channel, computed with broadcasting. */
    private static INDArray scaledOut(Kind kind, INDArray w, double[] s) {
        INDArray f = Nd4j.createFromArray(s).castTo(DataType.FLOAT);
        return switch (kind) {
            case CONV -> w.mul(f.reshape(1, 1, 1, s.length));
            case DEPTHWISE -> w.mul(f.reshape(1, 1, w.size(2), w.size(3)));
            case DENSE -> w.mul(f.reshape(1, s.length));
        };
    }

    private static INDArray scaledIn(Kind kind, INDArray w, double[] s) {
        INDArray f = Nd4j.createFromArray(s).castTo(DataType.FLOAT);
        return kind == Kind.DENSE ? w.mul(f.reshape(s.length, 1)) : w.mul(f.reshape(1, 1, s.length, 1));
    }

    private static void check(Kind kind, INDArray w) {
        LayerWeights lw = LayerWeights.of(kind, w);
        INDArray ref = w.dup();
        for (int step = 0; step < 4; step++) {
            assertArrayEquals(outRange(kind, ref), lw.outAbsMax(), 0, kind + " out ranges, step " + step);
            assertArrayEquals(inRange(kind, ref), lw.inAbsMax(), 0, kind + " in ranges, step " + step);
            if (step % 2 == 0) {
                double[] s = scales(lw.outChannels());
                lw.scaleOut(s);
                ref = scaledOut(kind, ref, s);
            } else {
                double[] s = scales(lw.inChannels());
                lw.scaleIn(s);
                ref = scaledIn(kind, ref, s);
            }
            assertArrayEquals(ref.data().asFloat(), lw.toArray().data().asFloat(), 0, kind + " weights, step " + step);
        }
    }

    @Test
    void rangesAndScalingMatchNd4jForEveryLayout() {
        check(Kind.CONV, randn(3, 3, 4, 5));
        check(Kind.DEPTHWISE, randn(3, 3, 4, 1));
        check(Kind.DEPTHWISE, randn(3, 3, 4, 3));
        check(Kind.DENSE, randn(6, 5));
    }

    @Test
    void contributionSumsOverTapsAndInputs() {
        INDArray w = randn(3, 3, 4, 5);
        double[] v = scales(4);
        double[] expected = w.castTo(DataType.DOUBLE).sum(0, 1).transpose().mmul(Nd4j.createFromArray(v).reshape(4, 1))
                .toDoubleVector();
        assertArrayEquals(expected, LayerWeights.of(Kind.CONV, w).contribution(v), 1e-5);

        INDArray dw = randn(3, 3, 4, 2);
        double[] got = LayerWeights.of(Kind.DEPTHWISE, dw).contribution(v);
        INDArray taps = dw.castTo(DataType.DOUBLE).sum(0, 1);
        for (int c = 0; c < 4; c++) {
            for (int j = 0; j < 2; j++) {
                assertEquals(taps.getDouble(c, j) * v[c], got[c * 2 + j], 1e-5);
            }
        }
    }

    @Test
    void zeroOutputsAndZeroInputs() {
        INDArray w = randn(1, 1, 4, 5);
        w.get(NDArrayIndex.all(), NDArrayIndex.all(), NDArrayIndex.all(), NDArrayIndex.point(3)).assign(0);
        LayerWeights lw = LayerWeights.of(WeightLayer.Kind.CONV, w);
        assertArrayEquals(new boolean[] {false, false, false, true, false}, lw.zeroOutputs());
        lw.zeroInput(1);
        assertEquals(true, lw.inputIsZero(1));
        assertEquals(0.0, lw.inAbsMax()[1]);
        assertEquals(0, lw.toArray().get(NDArrayIndex.all(), NDArrayIndex.all(), NDArrayIndex.point(1))
                .amaxNumber().doubleValue());
    }
}
