package org.dfq4j.rewrite.quant;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.List;
import org.dfq4j.rewrite.graph.OpKind;
import org.dfq4j.rewrite.engine.Pipeline;
import org.dfq4j.rewrite.engine.RewriteDriver;
import org.dfq4j.rewrite.graph.Network;
import org.dfq4j.rewrite.graph.Padding;
import org.dfq4j.rewrite.testing.Snapshots;
import org.dfq4j.rewrite.testing.SyntheticNets;
import org.dfq4j.rewrite.view.GraphView;
import org.junit.jupiter.api.Test;
import org.nd4j.autodiff.samediff.SDVariable;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;
import org.nd4j.linalg.ops.transforms.Transforms;

class LowerFakeQuantTest {

    /**
     * c1 conv3x3 -> relu6 -> d1 depthwise3x3 (zero-padded) -> relu [-> per-channel clip min(x, t)]
     * -> c2 conv1x1 -> relu -> gap -> fc.
     */
    private static Network quantizedChain(SyntheticNets s, boolean clip) {
        var b = s.builder();
        SDVariable x = b.relu6("r1", s.conv("c1", s.input(), 3, 3, 8, 1, Padding.SAME));
        x = b.relu("r2", s.depthwise("d1", x, 3, 8, 1, 1, Padding.SAME));
        if (clip) {
            INDArray t = Nd4j.createFromArray(0.5f, 1f, 1.5f, 2f, 2.5f, 3f, 3.5f, 4f).reshape(1, 8, 1, 1);
            x = b.sameDiff().math().min("clip", x, b.constant("clip/t", t));
        }
        x = b.relu("r3", s.conv("c2", x, 1, 8, 6, 1, Padding.SAME));
        s.dense("fc", b.globalAvgPool("gap", x, false), 6, 4);
        Network net = b.build("fc");
        return Pipeline.of(new QuantizeWeights(QuantScheme.perTensor(8, false)),
                new InsertFakeQuant(8, RangeSource.calibration(List.of(s.calibration()))),
                RewriteDriver.of(new FoldClampsIntoFakeQuant())).run(net).network();
    }

    @Test
    void loweredNetworkComputesTheSameLevels() {
        loweredNetworkComputesTheSameLevels(false);
    }

    @Test
    void aPerChannelClipBetweenLayerAndFakeQuantIsScaledWithIt() {
        loweredNetworkComputesTheSameLevels(true);
    }

    private static void loweredNetworkComputesTheSameLevels(boolean clip) {
        SyntheticNets s = new SyntheticNets("lower", 71, 3, 12);
        Network q = quantizedChain(s, clip);
        INDArray batch = s.calibration().mul(1.5); // beyond the calibrated ranges too: the clips matter
        INDArray expected = q.output(batch);

        LowerFakeQuant.Lowered l = LowerFakeQuant.of(q);
        GraphView g = GraphView.of(l.network());
        assertTrue(g.isWellFormed(), g.problems().toString());
        // every weight layer's output is lowered (c2's feeds a pool and fc's is the network output:
        // those read levels times s); only the input's fake-quant stays
        assertEquals(4, l.lowered());
        assertEquals(5, l.total());
        assertEquals(1, g.ops().stream().filter(o -> g.kind(o) == OpKind.FAKE_QUANT).count());
        assertEquals(clip ? 1 : 0, g.ops().stream().filter(o -> g.kind(o) == OpKind.MINIMUM).count());

        INDArray got = l.network().output(batch);
        assertTrue(SyntheticNets.relativeError(got, expected) < 1e-4, "error " + SyntheticNets.relativeError(got, expected));

        // the lowered tensor holds the integer levels: times the scale, the fake-quant's output
        GraphView qg = GraphView.of(q);
        String fq = qg.consumers(clip ? "clip" : "d1").get(0);
        String y = qg.output(fq);
        INDArray real = q.run(batch, List.of(y)).get(y);
        INDArray levels = l.network().run(batch, List.of(y)).get(y);
        assertEquals(levels, Transforms.round(levels), "integers");
        double scale = ActivationQuantizer.of(qg, fq).scale();
        INDArray diff = Transforms.abs(levels.mul(scale).sub(real)).div(scale);
        double flipped = diff.gt(0.5).castTo(DataType.DOUBLE).meanNumber().doubleValue();
        assertTrue(diff.maxNumber().doubleValue() < 1 + 1e-3, "at most one level apart");
        assertTrue(flipped < 1e-3, "levels that differ by rounding: " + flipped);
        assertTrue(levels.minNumber().doubleValue() >= 0 && levels.maxNumber().doubleValue() <= 255);
    }

    @Test
    void residualsAndConcatsKeepTheirValuesAndTheNetworkItselfIsNotChanged() {
        QuantTestNets.Calibrated c = QuantTestNets.residual(72);
        Network q = Pipeline.of(new QuantizeWeights(QuantScheme.perTensor(8, false)),
                new InsertFakeQuant(8, RangeSource.calibration(List.of(c.calibration())))).run(c.net()).network();
        Network before = q.copy();
        LowerFakeQuant.Lowered l = LowerFakeQuant.of(q);
        Snapshots.assertSameConstants(before, q);
        assertTrue(l.lowered() > 0 && l.lowered() < l.total(), l.lowered() + " of " + l.total());
        INDArray expected = q.output(c.calibration());
        assertTrue(SyntheticNets.relativeError(l.network().output(c.calibration()), expected) < 1e-4);
    }

    @Test
    void levelClipClampsInOnePass() {
        INDArray x = Nd4j.createFromArray(-300f, -3.5f, -3f, 0f, 2.5f, 252f, 253f, 900f);
        INDArray z = x.ulike();
        Nd4j.exec(new org.dfq4j.rewrite.graph.LevelClip(x, z, -3, 252));
        assertEquals(Nd4j.createFromArray(-3f, -3f, -3f, 0f, 2.5f, 252f, 252f, 252f), z);
    }
}
