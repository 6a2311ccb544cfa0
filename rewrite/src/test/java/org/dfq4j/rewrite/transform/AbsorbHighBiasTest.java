package org.dfq4j.rewrite.transform;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.List;
import java.util.function.BiFunction;
import org.dfq4j.rewrite.engine.Pipeline;
import org.dfq4j.rewrite.engine.RewriteDriver;
import org.dfq4j.rewrite.engine.RewriteLog;
import org.dfq4j.rewrite.engine.Rewritten;
import org.dfq4j.rewrite.graph.ChannelStats;
import org.dfq4j.rewrite.graph.Network;
import org.dfq4j.rewrite.graph.NetworkBuilder;
import org.dfq4j.rewrite.graph.Padding;
import org.dfq4j.rewrite.testing.Snapshots;
import org.dfq4j.rewrite.testing.SyntheticNets;
import org.junit.jupiter.api.Test;
import org.nd4j.autodiff.samediff.SDVariable;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;

class AbsorbHighBiasTest {

    /** conv1 -> bn (high beta) -> act -> conv2 -> bn -> act -> maxpool -> conv3 (output); 1x1 VALID convs only. */
    private static SyntheticNets highBias(long seed, BiFunction<NetworkBuilder, SDVariable, SDVariable> act) {
        SyntheticNets n = new SyntheticNets("absorb", seed, 3, 8);
        NetworkBuilder b = n.builder();
        SDVariable x = act.apply(b, n.calibratedBatchNorm("bn1", n.conv("conv1", n.input(), 1, 3, 6, 1, Padding.VALID),
                0.1, 0.6, 1, 4));
        x = act.apply(b, n.calibratedBatchNorm("bn2", n.conv("conv2", x, 1, 6, 5, 1, Padding.VALID), 0.1, 0.6, 1, 4));
        x = b.maxPool("pool", x, 2, 2, 2, 2, Padding.VALID);
        n.conv("conv3", x, 1, 5, 4, 1, Padding.VALID);
        return n;
    }

    private static Network build(SyntheticNets n) {
        return n.builder().build("conv3");
    }

    /** Asserts that on this batch no pre-activation of the layer falls below c = max(0, mean - 3 std). */
    private static void assertNothingBelowC(Network net, INDArray batch, String layer) {
        INDArray pre = net.run(batch, List.of(layer)).get(layer).castTo(DataType.DOUBLE);
        double[] min = pre.min(0, 2, 3).toDoubleVector();
        ChannelStats s = net.stats().get(layer);
        for (int i = 0; i < min.length; i++) {
            double c = Math.max(0, s.mean(i) - 3 * s.std(i));
            assertTrue(min[i] >= c, layer + " channel " + i + ": premise of the exactness test (" + min[i] + " >= " + c + ")");
        }
    }

    /**
     * Absorption on inputs where no pre-activation of either layer falls below c (checked), which
     * must leave the output unchanged.
     */
    private static Rewritten absorbedExactly(SyntheticNets n, Network equalized) {
        INDArray batch = n.calibration().mul(0.5);
        assertNothingBelowC(equalized, batch, "conv1");
        assertNothingBelowC(equalized, batch, "conv2");
        INDArray expected = equalized.output(batch);
        Rewritten r = Pipeline.of(new AbsorbHighBias()).run(equalized);
        assertTrue(SyntheticNets.relativeError(r.network().output(batch), expected) < 1e-5);
        return r;
    }

    @Test
    void absorptionIsExactWhereNoPreActivationFallsBelowC() {
        SyntheticNets n = highBias(41, (b, x) -> b.relu(x.name() + "/relu", x));
        Network equalized = Pipeline.of(RewriteDriver.of(new FoldBatchNorm()), new CrossLayerEqualization())
                .run(build(n)).network();
        Rewritten r = absorbedExactly(n, equalized);
        ChannelStats before = equalized.stats().get("conv1");
        ChannelStats after = r.network().stats().get("conv1");
        double[] b1Before = equalized.sameDiff().getArrForVarName("conv1/b").castTo(DataType.DOUBLE).toDoubleVector();
        double[] b1After = r.network().sameDiff().getArrForVarName("conv1/b").castTo(DataType.DOUBLE).toDoubleVector();
        int positive = 0;
        for (int i = 0; i < after.channels(); i++) {
            double c = Math.max(0, before.mean(i) - 3 * before.std(i));
            positive += c > 0 ? 1 : 0;
            assertEquals(before.mean(i) - c, after.mean(i), 1e-9);
            assertEquals(b1Before[i] - c, b1After[i], 1e-5 * (1 + Math.abs(b1Before[i])));
        }
        assertTrue(positive >= 3, "the test net has high biases (" + positive + " channels)");
        List<RewriteLog.Entry> log = r.log().entries("AbsorbHighBias");
        assertEquals(2.0, log.get(log.size() - 1).number("pairs"));
        RewriteLog.Entry first = log.stream().filter(e -> e.targets().equals(List.of("conv1", "conv2"))).findFirst()
                .orElseThrow();
        assertEquals("AbsorbHighBias: absorbed bias of conv1 -> relu -> conv2 [conv1, conv2] channels=" + positive
                + " maxShift=" + String.format("%.4g", first.number("maxShift")) + " mode=beta - 3.0|gamma|",
                first.line());

        // nothing is left to absorb
        Rewritten again = Pipeline.of(new AbsorbHighBias()).run(r.network());
        List<RewriteLog.Entry> log2 = again.log().entries("AbsorbHighBias");
        assertEquals(0.0, log2.get(log2.size() - 1).number("pairs"));
    }

    @Test
    void withoutActivationAllOfBetaMovesExactly() {
        SyntheticNets n = highBias(42, (b, x) -> x);
        Network folded = RewriteDriver.of(new FoldBatchNorm()).run(build(n)).network();
        INDArray expected = folded.output(n.calibration());
        Rewritten r = Pipeline.of(new AbsorbHighBias()).run(folded);
        assertTrue(SyntheticNets.relativeError(r.network().output(n.calibration()), expected) < 1e-5);
        for (double m : r.network().stats().get("conv1").mean()) {
            assertEquals(0, m, 1e-9);
        }
        assertTrue(r.log().toString().contains("mode=all of beta (no activation)"), r.log().toString());
    }

    @Test
    void keptRelu6ClipIsLoweredAndStaysExact() {
        SyntheticNets n = highBias(43, (b, x) -> b.relu6(x.name() + "/relu6", x));
        Network equalized = Pipeline.of(RewriteDriver.of(new FoldBatchNorm()), CrossLayerEqualization.keepingRelu6())
                .run(build(n)).network();
        Rewritten r = absorbedExactly(n, equalized);
        INDArray tBefore = equalized.sameDiff().getArrForVarName("bn1/relu6/clip");
        INDArray tAfter = r.network().sameDiff().getArrForVarName("bn1/relu6/clip");
        assertTrue(tAfter.sub(tBefore).maxNumber().doubleValue() < 0, "every clip limit is lowered by c > 0");
    }

    @Test
    void withoutStatisticsOrThroughRelu6NothingChanges() {
        SyntheticNets n = new SyntheticNets("nostats", 44, 3, 6);
        NetworkBuilder b = n.builder();
        SDVariable x = b.relu("r", n.conv("conv1", n.input(), 1, 3, 4, 1, Padding.VALID));
        x = b.relu6("r6", n.calibratedBatchNorm("bn", n.conv("conv2", x, 1, 4, 4, 1, Padding.VALID), 0.1, 0.5, 2, 3));
        n.conv("conv3", x, 1, 4, 2, 1, Padding.VALID);
        Network folded = RewriteDriver.of(new FoldBatchNorm()).run(b.build("conv3")).network();
        Rewritten r = Pipeline.of(new AbsorbHighBias()).run(folded);
        Snapshots.assertSameConstants(folded, r.network());
        String log = r.log().toString();
        assertTrue(log.contains("AbsorbHighBias: skipped conv1 -> relu -> conv2: no pre-activation statistics"), log);
        assertTrue(log.contains("AbsorbHighBias: not absorbed: chain from '") && log.contains("(RELU6) is not allowed here"),
                log);
    }
}
