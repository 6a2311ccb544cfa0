package org.dfq4j.rewrite.transform;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.List;
import java.util.Map;
import java.util.function.BiFunction;
import org.dfq4j.rewrite.graph.OpKind;
import org.dfq4j.rewrite.engine.Pipeline;
import org.dfq4j.rewrite.engine.RewriteDriver;
import org.dfq4j.rewrite.engine.RewriteLog;
import org.dfq4j.rewrite.engine.Rewritten;
import org.dfq4j.rewrite.graph.ChannelStats;
import org.dfq4j.rewrite.graph.Network;
import org.dfq4j.rewrite.graph.NetworkBuilder;
import org.dfq4j.rewrite.graph.Padding;
import org.dfq4j.rewrite.graph.TensorRange;
import org.dfq4j.rewrite.graph.WeightLayer;
import org.dfq4j.rewrite.testing.ChannelRanges;
import org.dfq4j.rewrite.testing.Snapshots;
import org.dfq4j.rewrite.testing.SyntheticNets;
import org.dfq4j.rewrite.view.GraphView;
import org.junit.jupiter.api.Test;
import org.nd4j.autodiff.samediff.SDVariable;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.indexing.NDArrayIndex;

class CrossLayerEqualizationTest {

    /**
     * conv1 -> bn -> act -> dw -> bn -> act -> maxpool -> conv2 -> bn -> leakyrelu -> pad -> conv3 -> bn -> act
     * -> gap(keepdims) -> flatten -> fc (output), with BN gammas spread over [0.05, 4) so channel ranges differ.
     */
    static SyntheticNets chain(long seed, BiFunction<NetworkBuilder, SDVariable, SDVariable> act) {
        SyntheticNets n = new SyntheticNets("cle", seed, 3, 10);
        NetworkBuilder b = n.builder();
        SDVariable x = n.conv("conv1", n.input(), 3, 3, 8, 1, Padding.SAME);
        x = act.apply(b, n.calibratedBatchNorm("bn1", x, 0.05, 4, -0.5, 2));
        x = act.apply(b, n.calibratedBatchNorm("bn2", n.depthwise("dw", x, 3, 8, 1, 1, Padding.SAME), 0.05, 4, -0.5, 2));
        x = b.maxPool("pool", x, 2, 2, 2, 2, Padding.VALID);
        x = b.leakyRelu("leaky", n.calibratedBatchNorm("bn3", n.conv("conv2", x, 1, 8, 6, 1, Padding.VALID), 0.05, 4,
                -0.5, 2), 0.1);
        x = b.zeroPad("pad", x, 1, 1, 1, 1);
        x = act.apply(b, n.calibratedBatchNorm("bn4", n.conv("conv3", x, 3, 6, 6, 1, Padding.VALID), 0.05, 4, -0.5, 2));
        x = b.flatten("flat", b.globalAvgPool("gap", x, true), 6);
        n.dense("fc", x, 6, 4);
        return n;
    }

    static SyntheticNets reluChain(long seed) {
        return chain(seed, (b, x) -> b.relu(x.name() + "/relu", x));
    }

    private static Network folded(SyntheticNets n) {
        return RewriteDriver.of(new FoldBatchNorm()).run(n.builder().build("fc")).network();
    }

    private static void assertEqualized(Network net, RewriteLog log, double tol) {
        GraphView g = GraphView.of(net);
        List<RewriteLog.Entry> pairs = log.entries("CrossLayerEqualization").stream()
                .filter(e -> e.targets().size() == 2).toList();
        assertFalse(pairs.isEmpty());
        for (RewriteLog.Entry e : pairs) {
            WeightLayer first = g.weightLayer(g.producer(e.targets().get(0)));
            WeightLayer second = g.weightLayer(g.producer(e.targets().get(1)));
            double[] r1 = ChannelRanges.out(net.sameDiff(), first);
            double[] r2 = ChannelRanges.in(net.sameDiff(), second);
            for (int i = 0; i < r1.length; i++) {
                if (r1[i] > 0 && r2[i] > 0) {
                    assertEquals(1, r1[i] / r2[i], tol, e.line() + " channel " + i);
                }
            }
        }
    }

    @Test
    void equalizesReluChainsAndKeepsTheOutput() {
        SyntheticNets n = reluChain(21);
        Network net = folded(n);
        INDArray expected = net.output(n.calibration());
        GraphView before = GraphView.of(net);
        WeightLayer conv1 = before.weightLayer(before.producer("conv1"));
        WeightLayer dw = before.weightLayer(before.producer("dw"));
        double[] r1 = ChannelRanges.out(net.sameDiff(), conv1);
        double[] r2 = ChannelRanges.in(net.sameDiff(), dw);
        double worst = 1;
        for (int i = 0; i < r1.length; i++) {
            worst = Math.max(worst, Math.max(r1[i] / r2[i], r2[i] / r1[i]));
        }
        assertTrue(worst > 2, "the test net starts unequalized (worst ratio " + worst + ")");

        Rewritten r = Pipeline.of(new CrossLayerEqualization()).run(net);
        assertTrue(SyntheticNets.relativeError(r.network().output(n.calibration()), expected) < 1e-4);
        assertEqualized(r.network(), r.log(), 1e-3);
        List<RewriteLog.Entry> log = r.log().entries("CrossLayerEqualization");
        RewriteLog.Entry summary = log.get(log.size() - 1);
        assertEquals(4.0, summary.number("pairs"));
        assertEquals(Boolean.TRUE, summary.values().get("converged"), summary.line());
        assertTrue(log.stream().anyMatch(e -> e.line().contains("equalized conv1 -> ") && e.line().contains(" -> dw")));
        assertTrue(log.stream().anyMatch(e -> e.targets().equals(List.of("fc"))
                && e.message().contains("'fc' is a network output")));

        // a second pass finds nothing left to do
        Rewritten again = Pipeline.of(new CrossLayerEqualization()).run(r.network());
        for (RewriteLog.Entry e : again.log().entries("CrossLayerEqualization")) {
            if (e.targets().size() == 2) {
                assertEquals(1, e.number("minScale"), 1e-3);
                assertEquals(1, e.number("maxScale"), 1e-3);
            }
        }
    }

    @Test
    void depthwiseWithMultiplierTwoIsScaledPerOutputChannel() {
        SyntheticNets n = new SyntheticNets("mult", 26, 3, 8);
        NetworkBuilder b = n.builder();
        SDVariable x = b.relu("r1", n.calibratedBatchNorm("bn1", n.conv("conv1", n.input(), 3, 3, 4, 1, Padding.SAME),
                0.05, 4, -0.5, 2));
        x = b.relu("r2", n.calibratedBatchNorm("bn2", n.depthwise("dw", x, 3, 4, 2, 1, Padding.SAME), 0.05, 4, -0.5, 2));
        n.conv("conv2", x, 1, 8, 3, 1, Padding.VALID);
        Network net = RewriteDriver.of(new FoldBatchNorm()).run(b.build("conv2")).network();
        INDArray expected = net.output(n.calibration());
        Rewritten r = Pipeline.of(new CrossLayerEqualization()).run(net);
        assertTrue(SyntheticNets.relativeError(r.network().output(n.calibration()), expected) < 1e-4);
        assertEqualized(r.network(), r.log(), 1e-3);
        assertEquals(2, r.log().entries("CrossLayerEqualization").stream().filter(e -> e.targets().size() == 2).count());
    }

    @Test
    void recordedRangesOfRescaledActivationsAreDropped() {
        SyntheticNets n = reluChain(25);
        Network net = folded(n).withRecordedRanges(Map.of("bn1/relu", new TensorRange(0, 4),
                "fc", new TensorRange(-9, 9)));
        Rewritten r = Pipeline.of(new CrossLayerEqualization()).run(net);
        assertEquals(Map.of("fc", new TensorRange(-9, 9)), r.network().recordedRanges());
        assertTrue(r.log().toString().contains("dropped the recorded ranges of 1 rescaled activations"), r.log().toString());
    }

    @Test
    void statisticsFollowTheScaledPreActivation() {
        SyntheticNets n = reluChain(22);
        Network r = Pipeline.of(new CrossLayerEqualization()).run(folded(n)).network();
        for (String layer : List.of("conv1", "dw", "conv3")) {
            INDArray pre = r.run(n.calibration(), List.of(layer)).get(layer).castTo(DataType.DOUBLE);
            ChannelStats s = r.stats().get(layer);
            double[] mean = pre.mean(0, 2, 3).toDoubleVector();
            double[] std = pre.std(false, 0, 2, 3).toDoubleVector();
            for (int c = 0; c < s.channels(); c++) {
                assertEquals(s.mean(c), mean[c], 1e-3 * (1 + s.std(c)), layer + " mean " + c);
                assertEquals(s.std(c), std[c], 1e-2 * s.std(c) + 1e-6, layer + " std " + c);
            }
        }
    }

    @Test
    void zeroRangeChannelsKeepScaleOne() {
        SyntheticNets n = reluChain(23);
        Network net = folded(n);
        INDArray w = net.sameDiff().getArrForVarName("conv1/W");
        w.get(NDArrayIndex.all(), NDArrayIndex.all(), NDArrayIndex.all(), NDArrayIndex.point(2)).assign(0);
        INDArray expected = net.output(n.calibration());
        Rewritten r = Pipeline.of(new CrossLayerEqualization()).run(net);
        for (float[] v : Snapshots.constants(r.network()).values()) {
            for (float f : v) {
                assertTrue(Float.isFinite(f));
            }
        }
        assertTrue(SyntheticNets.relativeError(r.network().output(n.calibration()), expected) < 1e-4);
        float b2Before = net.sameDiff().getArrForVarName("conv1/b").getFloat(2);
        float b2After = r.network().sameDiff().getArrForVarName("conv1/b").getFloat(2);
        assertEquals(b2Before, b2After, 0f, "the dead channel of conv1 keeps scale 1");
        assertTrue(net.sameDiff().getArrForVarName("conv1/b").getFloat(0)
                != r.network().sameDiff().getArrForVarName("conv1/b").getFloat(0), "live channels are scaled");
        assertEqualized(r.network(), r.log(), 1e-3);
    }

    @Test
    void keepRelu6ClipsPerChannelAndKeepsTheOutput() {
        SyntheticNets n = chain(24, (b, x) -> b.relu6(x.name() + "/relu6", x));
        Network net = folded(n);
        INDArray pre = net.run(n.calibration(), List.of("conv1")).get("conv1");
        assertTrue(pre.maxNumber().doubleValue() > 6, "some activations are clipped at 6");
        INDArray expected = net.output(n.calibration());

        Rewritten plain = Pipeline.of(new CrossLayerEqualization()).run(net);
        List<RewriteLog.Entry> plainLog = plain.log().entries("CrossLayerEqualization");
        assertTrue(plainLog.stream().anyMatch(e -> e.targets().equals(List.of("conv1"))
                && e.message().contains("RELU6")), plain.log().toString());

        Rewritten r = Pipeline.of(CrossLayerEqualization.keepingRelu6()).run(net);
        assertTrue(SyntheticNets.relativeError(r.network().output(n.calibration()), expected) < 1e-4);
        GraphView g = GraphView.of(r.network());
        assertEquals(List.of(OpKind.CONV2D, OpKind.RELU, OpKind.MINIMUM, OpKind.DEPTHWISE_CONV2D, OpKind.RELU, OpKind.MINIMUM, OpKind.MAX_POOL),
                g.ops().subList(0, 7).stream().map(g::kind).toList());
        assertEquals(3, g.ops().stream().filter(o -> g.kind(o) == OpKind.MINIMUM).count());
        assertEquals(OpKind.MINIMUM, g.kind(g.producer("bn1/relu6")), "the clip takes the relu6's output name");
        INDArray t = r.network().sameDiff().getArrForVarName("bn1/relu6/clip");
        assertEquals(4, t.rank());
        assertTrue(Math.abs(t.minNumber().doubleValue() - 6) > 1e-3 || Math.abs(t.maxNumber().doubleValue() - 6) > 1e-3);
        assertEqualized(r.network(), r.log(), 1e-3);
        assertEquals(3.0, r.log().entries("KeepRelu6AsClip").get(0).number("count"));
    }

    /** conv a -> [between] -> conv b (output), BN folded. */
    private static void assertUntouched(BiFunction<SyntheticNets, SDVariable, SDVariable> between, String expectedWhy) {
        SyntheticNets n = new SyntheticNets("neg", 30, 3, 6);
        SDVariable a = n.calibratedBatchNorm("bnA", n.conv("a", n.input(), 3, 3, 4, 1, Padding.SAME), 0.05, 4, 0, 1);
        SDVariable y = between.apply(n, a);
        Network net = n.builder().build(y.name());
        Network f = RewriteDriver.of(new FoldBatchNorm()).run(net).network();
        Rewritten r = Pipeline.of(CrossLayerEqualization.keepingRelu6()).run(f);
        Snapshots.assertSameConstants(f, r.network());
        String log = r.log().toString();
        assertTrue(log.contains(expectedWhy), log);
    }

    @Test
    void fanOutResidualAddSigmoidAndHardSwishChangeNothing() {
        assertUntouched((n, a) -> {
            SDVariable r = n.builder().relu("r", a);
            return n.builder().add("sum", n.conv("b", r, 1, 4, 4, 1, Padding.VALID), n.conv("c", r, 1, 4, 4, 1,
                    Padding.VALID));
        }, "'r' has 2 consumers");
        assertUntouched((n, a) -> {
            SDVariable r = n.builder().relu("r", a);
            SDVariable skip = n.conv("skip", n.input(), 1, 3, 4, 1, Padding.VALID);
            return n.conv("b", n.builder().add("res", r, skip), 1, 4, 4, 1, Padding.VALID);
        }, "(add) does not act per channel");
        assertUntouched((n, a) -> n.conv("b", n.builder().sigmoid("s", a), 1, 4, 4, 1, Padding.VALID),
                "(sigmoid) does not act per channel");
        assertUntouched((n, a) -> n.conv("b", n.builder().hardSwish("hs", a), 1, 4, 4, 1, Padding.VALID),
                "has 2 consumers");
    }
}
