package org.dfq4j.rewrite.transform;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.List;
import org.dfq4j.rewrite.engine.Pipeline;
import org.dfq4j.rewrite.engine.RewriteLog;
import org.dfq4j.rewrite.engine.Rewritten;
import org.dfq4j.rewrite.graph.Network;
import org.dfq4j.rewrite.graph.NetworkBuilder;
import org.dfq4j.rewrite.graph.Padding;
import org.dfq4j.rewrite.testing.Snapshots;
import org.dfq4j.rewrite.testing.SyntheticNets;
import org.junit.jupiter.api.Test;
import org.nd4j.autodiff.samediff.SDVariable;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.indexing.NDArrayIndex;

class EliminateDeadChannelsTest {

    /**
     * conv1 (1x1, channels 1 and 4 dead with biases 2 and -1, channel 5 dead with bias 9) -> relu6 -> dw (3x3 VALID)
     * -> relu -> conv2 (1x1, channel 3 dead with bias 0.7) -> relu -> gap -> fc (output). No padding anywhere.
     */
    private static SyntheticNets net(Padding dwPadding) {
        SyntheticNets n = new SyntheticNets("dead", 51, 3, 8);
        NetworkBuilder b = n.builder();
        INDArray w1 = n.randn(1, 1, 3, 6);
        INDArray b1 = n.randn(6);
        for (int c : new int[] {1, 4, 5}) {
            w1.get(NDArrayIndex.all(), NDArrayIndex.all(), NDArrayIndex.all(), NDArrayIndex.point(c)).assign(0);
        }
        b1.putScalar(1, 2.0);
        b1.putScalar(4, -1.0);
        b1.putScalar(5, 9.0);
        SDVariable x = b.relu6("a1", b.conv2d("conv1", n.input(), w1, b1, 1, 1, Padding.VALID, 1, 1));
        x = b.relu("a2", n.depthwise("dw", x, 3, 6, 1, 1, dwPadding));
        INDArray w2 = n.randn(1, 1, 6, 5);
        w2.get(NDArrayIndex.all(), NDArrayIndex.all(), NDArrayIndex.all(), NDArrayIndex.point(3)).assign(0);
        INDArray b2 = n.randn(5);
        b2.putScalar(3, 0.7);
        x = b.relu("a3", b.conv2d("conv2", x, w2, b2, 1, 1, Padding.VALID, 1, 1));
        n.dense("fc", b.globalAvgPool("gap", x, false), 5, 3);
        return n;
    }

    @Test
    void deadChannelsFoldForwardExactlyWithoutPadding() {
        SyntheticNets n = net(Padding.VALID);
        Network net = n.builder().build("fc");
        INDArray expected = net.output(n.calibration());
        Rewritten r = Pipeline.of(new EliminateDeadChannels()).run(net);
        Network out = r.network();
        assertTrue(SyntheticNets.relativeError(out.output(n.calibration()), expected) < 1e-5);

        var sd = out.sameDiff();
        for (int c : new int[] {1, 4, 5}) {
            assertEquals(0, sd.getArrForVarName("conv1/b").getDouble(c));
            assertEquals(0, sd.getArrForVarName("dw/W").get(NDArrayIndex.all(), NDArrayIndex.all(), NDArrayIndex.point(c))
                    .amaxNumber().doubleValue(), "dw reads nothing from dead channel " + c);
            assertEquals(0, sd.getArrForVarName("conv2/W").get(NDArrayIndex.all(), NDArrayIndex.all(),
                    NDArrayIndex.point(c)).amaxNumber().doubleValue(), "the dw channel became dead and was folded on");
        }
        assertEquals(0, sd.getArrForVarName("fc/W").getRow(3).amaxNumber().doubleValue());

        List<RewriteLog.Entry> all = r.log().entries("EliminateDeadChannels");
        assertEquals(List.of("EliminateDeadChannels: not paired: 'fc' is a network output [fc]"),
                all.stream().filter(e -> e.message().startsWith("not paired")).map(RewriteLog.Entry::line).toList());
        List<RewriteLog.Entry> log = all.stream().filter(e -> !e.message().startsWith("not paired")).toList();
        assertEquals(List.of("conv1", "dw"), log.get(0).targets());
        assertEquals(3.0, log.get(0).number("channels"));
        assertEquals(Boolean.TRUE, log.get(0).values().get("exact"));
        assertEquals(List.of("dw", "conv2"), log.get(1).targets());
        assertEquals(3.0, log.get(1).number("channels"));
        assertEquals(List.of("conv2", "fc"), log.get(2).targets());
        assertEquals(1.0, log.get(2).number("channels"));
        assertEquals(7.0, log.get(3).number("channels"));

        // idempotent: a second pass folds nothing
        Rewritten again = Pipeline.of(new EliminateDeadChannels()).run(out);
        Snapshots.assertSameConstants(out, again.network());
    }

    @Test
    void deadChannelsFeedingAPaddedLayerAreRescaledExactlyOrFoldedWhenZero() {
        SyntheticNets n = net(Padding.SAME);
        Network net = n.builder().build("fc");
        // the dw weights reading dead channel 1 (constant relu6(2) = 2) are outsized, as in BN-folded nets
        INDArray dw1 = net.sameDiff().getArrForVarName("dw/W").get(NDArrayIndex.all(), NDArrayIndex.all(),
                NDArrayIndex.point(1));
        dw1.muli(50);
        INDArray dwBefore = net.sameDiff().getArrForVarName("dw/W").dup();
        INDArray expected = net.output(n.calibration());

        Rewritten r = Pipeline.of(new EliminateDeadChannels()).run(net);
        Network out = r.network();
        assertTrue(SyntheticNets.relativeError(out.output(n.calibration()), expected) < 1e-5,
                "exact even with the zero-padded borders");
        var sd = out.sameDiff();
        // channel 4: relu6(-1) = 0 adds nothing anywhere, so folding it is exact
        assertEquals(0, sd.getArrForVarName("conv1/b").getDouble(4));
        // channel 1: scaled by min(range ratio, 6 / 2) = 3, its dw weights by 1/3
        assertEquals(6.0, sd.getArrForVarName("conv1/b").getDouble(1), 1e-6);
        INDArray dwAfter = sd.getArrForVarName("dw/W");
        assertTrue(SyntheticNets.relativeError(dwAfter.get(NDArrayIndex.all(), NDArrayIndex.all(), NDArrayIndex.point(1)),
                dwBefore.get(NDArrayIndex.all(), NDArrayIndex.all(), NDArrayIndex.point(1)).div(3)) < 1e-6);
        // channel 5: relu6(9) = 6 is already at the clip, it cannot grow: left as it is
        assertEquals(9.0, sd.getArrForVarName("conv1/b").getDouble(5), 1e-6);
        assertEquals(dwBefore.get(NDArrayIndex.all(), NDArrayIndex.all(), NDArrayIndex.point(5)),
                dwAfter.get(NDArrayIndex.all(), NDArrayIndex.all(), NDArrayIndex.point(5)));

        List<RewriteLog.Entry> log = r.log().entries("EliminateDeadChannels");
        RewriteLog.Entry kept = log.stream().filter(e -> e.values().containsKey("kept")).findFirst().orElseThrow();
        RewriteLog.Entry folded = log.stream().filter(e -> e.values().containsKey("exact")).findFirst().orElseThrow();
        RewriteLog.Entry rescaled = log.stream().filter(e -> e.values().containsKey("maxScale")).findFirst().orElseThrow();
        assertEquals(1.0, kept.number("kept"), "channel 5");
        assertEquals(List.of("conv1", "dw"), kept.targets());
        assertEquals(List.of("conv1", "dw"), folded.targets());
        assertEquals(1.0, folded.number("channels"));
        assertEquals(Boolean.TRUE, folded.values().get("exact"));
        assertEquals(1.0, rescaled.number("rescaled"));
        assertEquals(3.0, rescaled.number("maxScale"), 1e-9);
        assertTrue(rescaled.message().contains("not folded: the next layer pads with zeros"), rescaled.line());
    }

    @Test
    void aDeadChannelFeedingAResidualAddIsSkipped() {
        SyntheticNets n = new SyntheticNets("deadres", 52, 4, 5);
        NetworkBuilder b = n.builder();
        INDArray w = n.randn(1, 1, 4, 4);
        w.get(NDArrayIndex.all(), NDArrayIndex.all(), NDArrayIndex.all(), NDArrayIndex.point(0)).assign(0);
        SDVariable c = b.conv2d("conv1", n.input(), w, n.randn(4).add(1), 1, 1, Padding.VALID, 1, 1);
        SDVariable y = n.conv("conv2", b.add("res", c, n.input()), 1, 4, 2, 1, Padding.VALID);
        Network net = b.build(y.name());
        Rewritten r = Pipeline.of(new EliminateDeadChannels()).run(net);
        Snapshots.assertSameConstants(net, r.network());
        List<RewriteLog.Entry> log = r.log().entries("EliminateDeadChannels");
        assertTrue(log.get(0).message().startsWith("not paired: chain from '"), log.get(0).line());
        assertEquals(List.of("conv1"), log.get(0).targets());
        RewriteLog.Entry e = log.stream().filter(x -> x.message().startsWith("skipped")).findFirst().orElseThrow();
        assertEquals(List.of("conv1"), e.targets());
        assertTrue(e.message().startsWith("skipped 1 dead channels: chain from '"), e.line());
        assertTrue(e.message().contains("(add) does not act per channel"), e.line());
    }
}
