package org.dfq4j.rewrite.quant;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.Random;
import org.dfq4j.rewrite.graph.WeightLayer;
import org.junit.jupiter.api.Test;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;

class DataFreeRoundingTest {

    private static INDArray weights(long seed, long... shape) {
        Random r = new Random(seed);
        int n = 1;
        for (long s : shape) {
            n *= (int) s;
        }
        float[] w = new float[n];
        for (int i = 0; i < n; i++) {
            w[i] = (float) (r.nextGaussian() * (1 + (i % 7)) * 0.1);
        }
        return Nd4j.create(w, shape, 'c');
    }

    private static QuantParams[] params(float[] w, QuantScheme scheme, ChannelLayout layout) {
        double[][] mm = layout.minMax(w);
        QuantParams[] p = new QuantParams[layout.channels()];
        for (int c = 0; c < p.length; c++) {
            p[c] = QuantParams.of(scheme, mm[0][c], mm[1][c]);
        }
        return p;
    }

    @Test
    void neverIncreasesTheObjectiveAndMovesEachWeightAtMostToItsOtherNeighbour() {
        Object[][] layers = {
            {WeightLayer.Kind.CONV, new long[] {3, 3, 16, 24}},
            {WeightLayer.Kind.CONV, new long[] {1, 1, 32, 16}},
            {WeightLayer.Kind.DEPTHWISE, new long[] {3, 3, 24, 1}},
            {WeightLayer.Kind.DENSE, new long[] {40, 10}},
        };
        int improved = 0;
        for (Object[] l : layers) {
            WeightLayer.Kind kind = (WeightLayer.Kind) l[0];
            long[] shape = (long[]) l[1];
            for (int bits = 2; bits <= 8; bits++) {
                for (boolean perChannel : new boolean[] {false, true}) {
                    QuantScheme scheme = perChannel ? QuantScheme.perChannel(bits, false) : QuantScheme.perTensor(bits, false);
                    float[] w = ChannelLayout.data(weights(bits * 13L + kind.ordinal(), shape));
                    ChannelLayout layout = ChannelLayout.of(scheme, shape, kind);
                    QuantParams[] p = params(w, scheme, layout);
                    long[] nearest = new long[w.length];
                    for (int i = 0; i < w.length; i++) {
                        nearest[i] = p[layout.channelOf(i)].quantize(w[i]);
                    }
                    long[] q = DataFreeRounding.levels(w, kind, shape, layout, p);
                    String what = kind + " " + bits + " bits per-channel " + perChannel;
                    double before = DataFreeRounding.objective(w, nearest, kind, shape, layout, p);
                    double after = DataFreeRounding.objective(w, q, kind, shape, layout, p);
                    assertTrue(after <= before + 1e-9, what + ": " + after + " > " + before);
                    improved += after < before ? 1 : 0;
                    for (int i = 0; i < w.length; i++) {
                        QuantParams pi = p[layout.channelOf(i)];
                        double x = w[i] / pi.scale() + pi.zeroPoint();
                        assertTrue(Math.abs(q[i] - x) < 1 + 1e-9, what + ": element " + i + " moved to " + q[i] + " from " + x);
                        assertTrue(q[i] >= pi.qMin() && q[i] <= pi.qMax(), what);
                    }
                }
            }
        }
        assertTrue(improved > 40, "the rounding lowered the objective in only " + improved + " of 56 cases");
    }

    @Test
    void depthwiseKernelErrorsEndWithinHalfALevel() {
        long[] shape = {3, 3, 32, 1};
        QuantScheme scheme = QuantScheme.perChannel(4, false);
        float[] w = ChannelLayout.data(weights(3, shape));
        ChannelLayout layout = ChannelLayout.of(scheme, shape, WeightLayer.Kind.DEPTHWISE);
        QuantParams[] p = params(w, scheme, layout);
        long[] q = DataFreeRounding.levels(w, WeightLayer.Kind.DEPTHWISE, shape, layout, p);
        double[] sum = new double[32];
        for (int i = 0; i < w.length; i++) {
            QuantParams pi = p[layout.channelOf(i)];
            sum[i % 32] += q[i] - (w[i] / pi.scale() + pi.zeroPoint());
        }
        for (double s : sum) {
            assertTrue(Math.abs(s) <= 0.5 + 1e-9, "kernel error sum " + s);
        }
    }

    @Test
    void quantizedTensorsWithDataFreeRoundingStayOnTheGridOfNearest() {
        INDArray w = weights(9, 3, 3, 8, 12);
        QuantScheme scheme = QuantScheme.perChannel(4, false);
        QuantizedTensor nearest = QuantizedTensor.of(w, scheme, WeightLayer.Kind.CONV, Rounding.NEAREST);
        QuantizedTensor free = QuantizedTensor.of(w, scheme, WeightLayer.Kind.CONV, Rounding.DATAFREE);
        assertEquals(nearest.channels(), free.channels());
        INDArray diff = free.values().sub(nearest.values());
        float[] d = ChannelLayout.data(diff);
        for (int i = 0; i < d.length; i++) {
            double s = nearest.channels().get(i % 12).scale();
            double steps = d[i] / s;
            assertEquals(Math.rint(steps), steps, 1e-3);
            assertTrue(Math.abs(steps) <= 1 + 1e-3);
        }
    }
}
