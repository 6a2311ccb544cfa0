package org.dfq4j.rewrite.transform;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.List;
import org.dfq4j.rewrite.engine.Pipeline;
import org.dfq4j.rewrite.engine.RewriteDriver;
import org.dfq4j.rewrite.engine.RewriteLog;
import org.dfq4j.rewrite.engine.Rewritten;
import org.dfq4j.rewrite.graph.Network;
import org.dfq4j.rewrite.graph.NetworkBuilder;
import org.dfq4j.rewrite.graph.Padding;
import org.dfq4j.rewrite.graph.WeightLayer;
import org.dfq4j.rewrite.testing.ChannelRanges;
import org.dfq4j.rewrite.testing.SyntheticNets;
import org.dfq4j.rewrite.view.GraphView;
import org.junit.jupiter.api.Test;
import org.nd4j.autodiff.samediff.SDVariable;
import org.nd4j.linalg.api.ndarray.INDArray;

class ResidualEqualizationTest {

    /**
     * An inverted-residual stage like MobileNetV2's: conv1 -> bn -> relu -> proj0 -> bn (x0, the stream)
     * -> expand1 -> bn -> relu -> dw1 -> bn -> relu -> proj1 -> bn -> add(x0) (a1) -> expand2 -> bn -> relu
     * -> gap -> flatten -> fc. proj0 and proj1 write into the stream, expand1 and expand2 read it.
     */
    static SyntheticNets stage(long seed) {
        return stage(seed, false);
    }

    /**
     * As {@link #stage(long)}; with {@code relu6Triplet}, conv1 -> bn -> relu6 -> dw0 -> bn -> relu6 -> proj0
     * instead (a triplet through ReLU6s, which equalization keeps as per-channel clips).
     */
    static SyntheticNets stage(long seed, boolean relu6Triplet) {
        SyntheticNets n = new SyntheticNets("residual-stage", seed, 3, 8);
        NetworkBuilder b = n.builder();
        SDVariable c1 = n.calibratedBatchNorm("bn1", n.conv("conv1", n.input(), 3, 3, 8, 1, Padding.SAME), 0.05, 4, -0.5, 2);
        SDVariable x = relu6Triplet ? b.relu6("r1", c1) : b.relu("r1", c1);
        if (relu6Triplet) {
            x = b.relu6("r2", n.calibratedBatchNorm("bn2", n.depthwise("dw0", x, 3, 8, 1, 1, Padding.SAME),
                    0.05, 4, -0.5, 2));
        }
        SDVariable x0 = n.calibratedBatchNorm("bn_p0", n.conv("proj0", x, 1, 8, 6, 1, Padding.SAME), 0.05, 4, -0.5, 2);
        SDVariable e = b.relu("re1", n.calibratedBatchNorm("bn_e1", n.conv("expand1", x0, 1, 6, 12, 1, Padding.SAME),
                0.05, 4, -0.5, 2));
        e = b.relu("rd1", n.calibratedBatchNorm("bn_d1", n.depthwise("dw1", e, 3, 12, 1, 1, Padding.SAME), 0.05, 4, -0.5, 2));
        SDVariable p1 = n.calibratedBatchNorm("bn_p1", n.conv("proj1", e, 1, 12, 6, 1, Padding.SAME), 0.05, 4, -0.5, 2);
        SDVariable a1 = b.add("a1", p1, x0);
        SDVariable e2 = b.relu("re2", n.calibratedBatchNorm("bn_e2", n.conv("expand2", a1, 1, 6, 10, 1, Padding.SAME),
                0.05, 4, -0.5, 2));
        n.dense("fc", b.flatten("flat", b.globalAvgPool("gap", e2, true), 10), 10, 4);
        return n;
    }

    static Network folded(SyntheticNets n) {
        return RewriteDriver.of(new FoldBatchNorm()).run(n.builder().build("fc")).network();
    }

    @Test
    void residualStreamsAreEqualizedAndTheFloatOutputIsUnchanged() {
        SyntheticNets s = stage(21);
        Network net = folded(s);
        INDArray x = s.calibration();
        INDArray before = net.output(x);
        Rewritten r = Pipeline.of(new CrossLayerEqualization()).run(net);
        INDArray after = r.network().output(x);
        assertTrue(SyntheticNets.relativeError(before, after) < 1e-5, "FP32 output changed by "
                + SyntheticNets.relativeError(before, after));

        List<RewriteLog.Entry> streams = r.log().entries("CrossLayerEqualization").stream()
                .filter(e -> e.message().startsWith("equalized residual stream")).toList();
        assertEquals(1, streams.size(), r.log().entries().toString());
        // at convergence, channel i's largest range over the writers equals that over the readers
        GraphView g = GraphView.of(r.network());
        RewriteLog.Entry e = streams.get(0);
        int writers = ((Number) e.values().get("writers")).intValue();
        assertEquals(2, writers);
        assertEquals(4, e.targets().size());
        double[] w = new double[6];
        double[] rd = new double[6];
        for (int k = 0; k < e.targets().size(); k++) {
            WeightLayer l = g.weightLayer(g.producer(e.targets().get(k)));
            if (k < writers) {
                max(w, ChannelRanges.out(r.network().sameDiff(), l));
            } else {
                max(rd, ChannelRanges.in(r.network().sameDiff(), l));
            }
        }
        for (int i = 0; i < 6; i++) {
            assertEquals(1, w[i] / rd[i], 1e-2, "channel " + i);
        }
    }

    @Test
    void onlyResidualEqualizationRescalesTheStream() {
        SyntheticNets s = stage(22);
        Network net = folded(s);
        GraphView g = GraphView.of(net);
        String add = g.ops().stream().filter(op -> g.kind(op) == org.dfq4j.rewrite.graph.OpKind.ADD).findFirst().orElseThrow();
        List<String> stream = g.inputs(add);
        INDArray x = s.calibration();
        java.util.Map<String, INDArray> before = net.run(x, stream);
        Network off = Pipeline.of(new CrossLayerEqualization(false, CrossLayerEqualization.DEFAULT_THRESHOLD,
                CrossLayerEqualization.DEFAULT_MAX_ITERATIONS, false)).run(net).network();
        Network on = Pipeline.of(new CrossLayerEqualization()).run(net).network();
        java.util.Map<String, INDArray> offValues = off.run(x, stream);
        java.util.Map<String, INDArray> onValues = on.run(x, stream);
        for (String t : stream) {
            assertTrue(SyntheticNets.relativeError(before.get(t), offValues.get(t)) < 1e-5, t + " changed without residual CLE");
            assertTrue(SyntheticNets.relativeError(before.get(t), onValues.get(t)) > 1e-2, t + " not rescaled by residual CLE");
        }
        assertTrue(SyntheticNets.relativeError(net.output(x), on.output(x)) < 1e-5);
    }

    private static void max(double[] into, double[] v) {
        for (int i = 0; i < v.length; i++) {
            into[i] = Math.max(into[i], v[i]);
        }
    }
}
