package org.dfq4j.rewrite.transform;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.List;
import org.dfq4j.rewrite.graph.OpKind;
import org.dfq4j.rewrite.engine.RewriteDriver;
import org.dfq4j.rewrite.engine.RewriteLog;
import org.dfq4j.rewrite.engine.Rewritten;
import org.dfq4j.rewrite.graph.ChannelStats;
import org.dfq4j.rewrite.graph.Network;
import org.dfq4j.rewrite.graph.Padding;
import org.dfq4j.rewrite.testing.SyntheticNets;
import org.dfq4j.rewrite.view.GraphView;
import org.junit.jupiter.api.Test;
import org.nd4j.autodiff.samediff.SDVariable;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;

class FoldBatchNormTest {

    /** conv -> bn -> relu -> depthwise -> bn -> relu6 -> gap -> dense -> bn (output). */
    @Test
    void foldingIsExactAndRecordsStatistics() {
        SyntheticNets n = SyntheticNets.convDepthwiseDense("fold", 11);
        Network net = n.builder().build("bn3");
        INDArray expected = net.output(n.calibration());
        INDArray gamma1 = net.sameDiff().getArrForVarName("bn1/gamma").dup();
        INDArray beta1 = net.sameDiff().getArrForVarName("bn1/beta").dup();

        Rewritten r = RewriteDriver.of(new FoldBatchNorm()).run(net);
        Network folded = r.network();
        GraphView g = GraphView.of(folded);
        assertTrue(g.isWellFormed(), g.problems().toString());
        assertEquals(0, g.ops().stream().filter(o -> g.kind(o) == OpKind.BATCH_NORM).count());
        assertEquals(List.of("fc"), folded.outputs());
        assertTrue(SyntheticNets.relativeError(folded.output(n.calibration()), expected) < 1e-5);

        ChannelStats s1 = folded.stats().get("conv1");
        assertArrayEquals(beta1.castTo(DataType.DOUBLE).toDoubleVector(), s1.mean(), 0);
        assertArrayEquals(abs(gamma1.castTo(DataType.DOUBLE).toDoubleVector()), s1.std(), 0);
        assertEquals(12, folded.stats().get("dw").channels());
        assertEquals(5, folded.stats().get("fc").channels());

        assertEquals(3.0, r.log().entries("FoldBatchNorm").get(3).number("count"));
        assertEquals(List.of("dw", "bn2"), r.log().entries("FoldBatchNorm").get(1).targets());
    }

    @Test
    void theFoldedPreActivationHasTheRecordedStatistics() {
        SyntheticNets n = SyntheticNets.convDepthwiseDense("fold", 11);
        Network folded = RewriteDriver.of(new FoldBatchNorm()).run(n.builder().build("bn3")).network();
        // calibrated BN: on the calibration batch the folded pre-activation has mean beta and std |gamma|
        INDArray pre = folded.run(n.calibration(), List.of("conv1")).get("conv1").castTo(DataType.DOUBLE);
        ChannelStats s = folded.stats().get("conv1");
        assertArrayEquals(s.mean(), pre.mean(0, 2, 3).toDoubleVector(), 1e-3);
        assertArrayEquals(s.std(), pre.std(false, 0, 2, 3).toDoubleVector(), 1e-2);
    }

    @Test
    void expectedGraph() {
        Network net = SyntheticNets.convDepthwiseDense("fold", 11).builder().build("bn3");
        GraphView before = GraphView.of(net);
        assertEquals(List.of(OpKind.CONV2D, OpKind.BATCH_NORM, OpKind.RELU, OpKind.DEPTHWISE_CONV2D, OpKind.BATCH_NORM, OpKind.RELU6, OpKind.MEAN, OpKind.DENSE, OpKind.BATCH_NORM), before.ops().stream().map(before::kind).toList());
        GraphView after = GraphView.of(RewriteDriver.of(new FoldBatchNorm()).run(net).network());
        assertEquals(List.of(OpKind.CONV2D, OpKind.RELU, OpKind.DEPTHWISE_CONV2D, OpKind.RELU6, OpKind.MEAN, OpKind.DENSE),
                after.ops().stream().map(after::kind).toList());
        assertEquals(List.of("conv1", "conv1/W", "conv1/b"), List.of(after.inputs(after.producer("r1")).get(0),
                after.inputs(after.producer("conv1")).get(1), after.inputs(after.producer("conv1")).get(2)));
        assertEquals(List.of(), after.consumers("input").stream().filter(o -> after.kind(o) != OpKind.CONV2D).toList());
    }

    @Test
    void aLayerOutputWithAnotherConsumerIsNotFolded() {
        SyntheticNets n = new SyntheticNets("fanout", 12, 2, 5);
        var b = n.builder();
        SDVariable c = n.conv("conv", n.input(), 3, 2, 4, 1, Padding.SAME);
        SDVariable bn = n.calibratedBatchNorm("bn", c);
        b.add("sum", bn, b.relu("r", c));
        Network net = b.build("sum");
        Rewritten r = RewriteDriver.of(new FoldBatchNorm()).run(net);
        List<RewriteLog.Entry> log = r.log().entries("FoldBatchNorm");
        assertEquals(2, log.size());
        assertEquals("FoldBatchNorm: not folded: 'conv' has 2 consumers [bn]", log.get(0).line());
        assertEquals(0.0, log.get(1).number("count"));
        assertTrue(r.network().stats().isEmpty());
        assertEquals(net.sameDiff().getArrForVarName("conv/W"), r.network().sameDiff().getArrForVarName("conv/W"));
    }

    private static double[] abs(double[] v) {
        double[] r = v.clone();
        for (int i = 0; i < r.length; i++) {
            r[i] = Math.abs(r[i]);
        }
        return r;
    }
}
