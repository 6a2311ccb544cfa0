package org.dfq4j.rewrite.quant;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.List;
import java.util.Map;
import java.util.Random;
import org.dfq4j.rewrite.DfqException;
import org.dfq4j.rewrite.engine.Pipeline;
import org.dfq4j.rewrite.engine.RewriteLog;
import org.dfq4j.rewrite.engine.Rewritten;
import org.dfq4j.rewrite.graph.ChannelStats;
import org.dfq4j.rewrite.graph.Network;
import org.dfq4j.rewrite.graph.NetworkBuilder;
import org.dfq4j.rewrite.graph.Padding;
import org.dfq4j.rewrite.graph.WeightLayer;
import org.junit.jupiter.api.Test;
import org.nd4j.autodiff.samediff.SDVariable;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;
import org.nd4j.linalg.indexing.NDArrayIndex;

class CorrectBiasAnalyticallyTest {

    private static final double[] MU = {1.0, -0.5, 2.0, 0.3};
    // on the 4-bit per-tensor grid of step 0.2, so quantizing c1 leaves it exact
    private static final double[] SIGMA = {0.6, 1.2, 1.8, 3.0};
    private static final QuantScheme W4 = QuantScheme.perTensor(4, false);

    /**
     * input z ~ N(0,1) [4,10,10] -> c1 (1x1, diagonal sigma, bias mu: exactly N(mu, sigma^2) per channel,
     * its statistics) -> relu -> {c2 conv 3x3 VALID 4->6, d2 depthwise 3x3 VALID x2, gap -> fc 4->5}.
     */
    private static Network net(long seed) {
        Random r = new Random(seed);
        NetworkBuilder b = new NetworkBuilder("bc", 4, 10, 10);
        INDArray diag = Nd4j.zeros(DataType.FLOAT, 1, 1, 4, 4);
        for (int c = 0; c < 4; c++) {
            diag.putScalar(new long[] {0, 0, c, c}, SIGMA[c]);
        }
        SDVariable c1 = b.conv2d("c1", b.input(), diag, Nd4j.createFromArray(MU).castTo(DataType.FLOAT), 1, 1,
                Padding.VALID, 1, 1);
        SDVariable x = b.relu("x", c1);
        b.conv2d("c2", x, gaussian(r, 0.3, 3, 3, 4, 6), gaussian(r, 0.1, 6), 1, 1, Padding.VALID, 1, 1);
        b.depthwiseConv2d("d2", x, gaussian(r, 0.4, 3, 3, 4, 2), gaussian(r, 0.1, 8), 1, 1, Padding.VALID, 1, 1);
        b.dense("fc", b.globalAvgPool("gap", x, false), gaussian(r, 0.5, 4, 5), gaussian(r, 0.1, 5));
        return b.build("c2", "d2", "fc").withStats(Map.of("c1", new ChannelStats(MU, SIGMA)));
    }

    private static INDArray gaussian(Random r, double scale, long... shape) {
        INDArray a = Nd4j.zeros(DataType.FLOAT, shape);
        for (long i = 0; i < a.length(); i++) {
            a.putScalar(i, scale * r.nextGaussian());
        }
        return a;
    }

    /** Per image and channel: spatial mean of (a - b); rows = images. */
    private static INDArray pairedMeans(INDArray a, INDArray b) {
        INDArray d = a.sub(b);
        return d.rank() == 4 ? d.mean(2, 3) : d;
    }

    @Test
    void correctedMeanMatchesFloatWithinMonteCarloErrorAndUncorrectedDoesNot() {
        Network net = net(1);
        Rewritten corrected = Pipeline.of(new CorrectBiasAnalytically(W4), new QuantizeWeights(W4)).run(net);
        Rewritten plain = Pipeline.of(new QuantizeWeights(W4)).run(net);
        INDArray z = QuantTestNets.images(2, 1500, 4, 10, 10);
        Map<String, INDArray> f = net.run(z);
        Map<String, INDArray> q = corrected.network().run(z);
        Map<String, INDArray> u = plain.network().run(z);
        double worstUncorrected = 0;
        for (String out : List.of("c2", "d2", "fc")) {
            INDArray dc = pairedMeans(q.get(out), f.get(out));
            INDArray du = pairedMeans(u.get(out), f.get(out));
            long n = dc.size(0);
            for (int o = 0; o < dc.size(1); o++) {
                INDArray col = dc.getColumn(o);
                double se = col.stdNumber().doubleValue() / Math.sqrt(n);
                double mean = col.meanNumber().doubleValue();
                assertTrue(Math.abs(mean) < 4 * se + 1e-6,
                        out + "[" + o + "] corrected mean error " + mean + " vs standard error " + se);
                INDArray ucol = du.getColumn(o);
                double use = ucol.stdNumber().doubleValue() / Math.sqrt(n);
                worstUncorrected = Math.max(worstUncorrected, Math.abs(ucol.meanNumber().doubleValue()) / use);
            }
        }
        assertTrue(worstUncorrected > 10, "uncorrected 4-bit error only " + worstUncorrected + " standard errors");

        // c1 reads the network input: no mean known, skipped with the reason
        RewriteLog.Entry c1 = corrected.log().entries("CorrectBiasAnalytically").stream()
                .filter(e -> e.targets().equals(List.of("c1"))).findFirst().orElseThrow();
        assertTrue(c1.message().contains("skipped") && c1.message().contains("network input"), c1.message());
    }

    @Test
    void reluInputMeanIsTheClippedNormalMean() {
        Network net = net(3);
        INDArray w = net.sameDiff().getArrForVarName("c2/W");
        INDArray eps = QuantizedTensor.of(w, W4, WeightLayer.Kind.CONV).values().sub(w);
        double[] mean = new double[4];
        for (int c = 0; c < 4; c++) {
            mean[c] = SIGMA[c] * StandardNormal.pdf(-MU[c] / SIGMA[c]) + MU[c] * (1 - StandardNormal.cdf(-MU[c] / SIGMA[c]));
        }
        Rewritten corrected = Pipeline.of(new CorrectBiasAnalytically(W4)).run(net);
        INDArray b0 = net.sameDiff().getArrForVarName("c2/b");
        INDArray b1 = corrected.network().sameDiff().getArrForVarName("c2/b");
        double[] shift = CorrectBiasAnalytically.outputMeanShift(WeightLayer.Kind.CONV, eps, mean);
        for (int o = 0; o < 6; o++) { // direct sum over kh, kw, c of eps * E[x_c]
            double direct = 0;
            for (int kh = 0; kh < 3; kh++) {
                for (int kw = 0; kw < 3; kw++) {
                    for (int c = 0; c < 4; c++) {
                        direct += eps.getDouble(kh, kw, c, o) * mean[c];
                    }
                }
            }
            assertEquals(direct, shift[o], 1e-6);
            assertEquals(b0.getDouble(o) - direct, b1.getDouble(o), 1e-5);
        }
        assertTrue(corrected.network().sameDiff().getArrForVarName("c2/W").equalsWithEps(w, 0),
                "the weights stay float until QuantizeWeights");
    }

    @Test
    void depthwiseShiftEqualsTheShiftOfTheEquivalentDenseConvolution() {
        INDArray eps = Nd4j.rand(DataType.FLOAT, 3, 3, 4, 2).subi(0.5);
        double[] mean = {0.3, -1.0, 2.0, 0.7};
        INDArray conv = Nd4j.zeros(DataType.FLOAT, 3, 3, 4, 8);
        for (int c = 0; c < 4; c++) {
            for (int j = 0; j < 2; j++) {
                conv.get(NDArrayIndex.all(), NDArrayIndex.all(), NDArrayIndex.point(c), NDArrayIndex.point(c * 2 + j))
                        .assign(eps.get(NDArrayIndex.all(), NDArrayIndex.all(), NDArrayIndex.point(c), NDArrayIndex.point(j)));
            }
        }
        assertArrayEquals(CorrectBiasAnalytically.outputMeanShift(WeightLayer.Kind.CONV, conv, mean),
                CorrectBiasAnalytically.outputMeanShift(WeightLayer.Kind.DEPTHWISE, eps, mean), 1e-6);
        INDArray dense = Nd4j.rand(DataType.FLOAT, 4, 3);
        double[] d = CorrectBiasAnalytically.outputMeanShift(WeightLayer.Kind.DENSE, dense, mean);
        INDArray expected = Nd4j.createFromArray(mean).castTo(DataType.FLOAT).reshape(1, 4).mmul(dense);
        assertArrayEquals(expected.toDoubleVector(), d, 1e-5);
    }

    @Test
    void inputMeansPassThroughActivationFakeQuant() {
        Network net = net(5);
        Rewritten r = Pipeline.of(new InsertFakeQuant(8, RangeSource.batchNorm(6, new org.dfq4j.rewrite.graph.TensorRange(-4, 4))),
                new CorrectBiasAnalytically(W4)).run(net);
        RewriteLog.Entry summary = r.log().entries("CorrectBiasAnalytically").get(
                r.log().entries("CorrectBiasAnalytically").size() - 1);
        assertEquals(3, summary.number("corrected"));
        assertEquals(List.of("c1"), summary.targets());
    }

    @Test
    void refusesQuantizedWeights() {
        Network net = net(4);
        Pipeline p = Pipeline.of(new QuantizeWeights(W4), new CorrectBiasAnalytically(W4));
        DfqException e = assertThrows(DfqException.class, () -> p.run(net));
        assertTrue(e.getMessage().contains("before QuantizeWeights"), e.getMessage());
    }
}
