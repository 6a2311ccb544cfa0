package org.dfq4j.rewrite.quant;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.File;
import java.io.IOException;
import java.util.List;
import java.util.Map;
import org.dfq4j.rewrite.engine.Pipeline;
import org.dfq4j.rewrite.engine.RewriteDriver;
import org.dfq4j.rewrite.graph.Network;
import org.dfq4j.rewrite.graph.OpKind;
import org.dfq4j.rewrite.graph.Padding;
import org.dfq4j.rewrite.testing.Snapshots;
import org.dfq4j.rewrite.testing.SyntheticNets;
import org.dfq4j.rewrite.view.GraphView;
import org.junit.jupiter.api.Test;
import org.nd4j.autodiff.samediff.SDVariable;
import org.nd4j.autodiff.samediff.SameDiff;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.api.ops.impl.transforms.custom.FakeQuantWithMinMaxVars;
import org.nd4j.linalg.api.ops.impl.transforms.strict.Rint;
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
        // every weight layer's output is lowered into the weights (c2's feeds a pool and fc's is the
        // network output: those read levels times s); the input's fake-quant becomes scalar ops too
        assertEquals(4, l.lowered());
        assertEquals(5, l.total());
        assertEquals(0, g.ops().stream().filter(o -> g.kind(o) == OpKind.FAKE_QUANT).count());
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
        // the sums' and the concat's fake-quants are scalar ops now: a value next to a level boundary
        // may land one level over (aFakeQuantAsScalarOpsIsTheOpToOneLevel), which this small network
        // carries to its output
        double err = SyntheticNets.relativeError(l.network().output(c.calibration()), expected);
        assertTrue(err < 2e-2, "relative error " + err);
    }

    @Test
    void roundingToTheLevelsIsRintThenAClipWithStandardOpsThatSaveAndLoad() throws IOException {
        SameDiff sd = SameDiff.create();
        SDVariable x = sd.placeHolder("x", DataType.FLOAT, 12);
        String y = LowerFakeQuant.roundToLevels(x, -3, 252).name();
        INDArray in = Nd4j.createFromArray(-3e7f, -300f, -3.5f, -2.5f, -0.5f, 0.5f, 1.5f, 2.49f, 251.5f, 252.5f, 4.2e6f,
                9e9f);
        // ties to even, as rint: -2.5 -> -2, -0.5 -> 0, 0.5 -> 0, 1.5 -> 2, 251.5 -> 252
        INDArray expected = Nd4j.createFromArray(-3f, -3f, -3f, -2f, 0f, 0f, 2f, 2f, 252f, 252f, 252f, 252f);
        assertEquals(expected, sd.output(Map.of("x", in), y).get(y));
        INDArray random = Nd4j.rand(DataType.FLOAT, 1000).muli(600).subi(300);
        INDArray reference = Transforms.min(Transforms.max(Nd4j.exec(
                new Rint(random, random.ulike())), -3), 252);
        SameDiff sd2 = SameDiff.create();
        SDVariable x2 = sd2.placeHolder("x", DataType.FLOAT, 1000);
        String y2 = LowerFakeQuant.roundToLevels(x2, -3, 252).name();
        assertEquals(reference, sd2.output(Map.of("x", random), y2).get(y2));
        File f = File.createTempFile("levels", ".sd");
        try {
            sd.save(f, false);
            SameDiff loaded = SameDiff.load(f, false);
            assertEquals(expected, loaded.output(Map.of("x", in), y).get(y));
        } finally {
            f.delete();
        }
    }

    @Test
    void aFakeQuantAsScalarOpsIsTheOpToOneLevel() {
        SameDiff sd = SameDiff.create();
        SDVariable x = sd.placeHolder("x", DataType.FLOAT, 100_000);
        double min = -1.37;
        double max = 2.91;
        SDVariable fq = new FakeQuantWithMinMaxVars(sd, x, sd.constant("min", Nd4j.scalar((float) min)),
                sd.constant("max", Nd4j.scalar((float) max)), false, 8).outputVariable();
        ActivationQuantizer q = ActivationQuantizer.of(min, max, 8, false);
        SDVariable lowered = LowerFakeQuant.roundToLevels(x.div(q.scale()), q.lowLevel(), q.highLevel())
                .mul(q.scale());
        INDArray in = Nd4j.rand(DataType.FLOAT, 100_000).muli(6).subi(2.5);
        Map<String, INDArray> out = sd.output(Map.of("x", in), fq.name(), lowered.name());
        INDArray levels = Transforms.abs(out.get(fq.name()).sub(out.get(lowered.name()))).div(q.scale());
        assertTrue(levels.maxNumber().doubleValue() < 1 + 1e-3, "at most one level apart");
        double flipped = levels.gt(0.5).castTo(DataType.DOUBLE).meanNumber().doubleValue();
        assertTrue(flipped < 1e-4, "values a level apart: " + flipped);
    }
}
