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
        assertEquals(clip ? 1 : 0, g.ops().stream()
                .filter(o -> g.kind(o) == OpKind.MINIMUM || g.kind(o) == OpKind.MAXIMUM).count());

        INDArray got = l.network().output(batch);
        assertTrue(SyntheticNets.relativeError(got, expected) < 1e-4, "error " + SyntheticNets.relativeError(got, expected));

        // the lowered tensor holds the integer levels times the unit: times s / unit, the fake-quant's output
        GraphView qg = GraphView.of(q);
        String fq = qg.consumers(clip ? "clip" : "d1").get(0);
        String y = qg.output(fq);
        ActivationQuantizer aq = ActivationQuantizer.of(qg, fq);
        double unit = LowerFakeQuant.unit(aq.lowLevel(), aq.highLevel());
        assertEquals(-LowerFakeQuant.STEP, unit, "levels [0, 255]: the even bound is the low one");
        INDArray real = q.run(batch, List.of(y)).get(y);
        INDArray levels = l.network().run(batch, List.of(y)).get(y).div(unit);
        assertEquals(levels, Transforms.round(levels), "integers");

        // and bit for bit what the four-op rounding computes, in every lowered tensor and the output
        LowerFakeQuant.Lowered four = LowerFakeQuant.withFourOpRounding(q);
        assertEquals(four.network().run(batch, List.of(y)).get(y), levels);
        assertEquals(four.network().output(batch), got);
        double scale = aq.scale();
        INDArray diff = Transforms.abs(levels.mul(scale).sub(real)).div(scale);
        double flipped = diff.gt(0.5).castTo(DataType.DOUBLE).meanNumber().doubleValue();
        assertTrue(diff.maxNumber().doubleValue() < 1 + 1e-3, "at most one level apart");
        assertTrue(flipped < 1e-3, "levels that differ by rounding: " + flipped);
        assertTrue(levels.minNumber().doubleValue() >= 0 && levels.maxNumber().doubleValue() <= 255);
    }

    @Test
    void channelsLastTilesOfTheClipAndRoundingComputeWhatOpByOpDoes() {
        // lowered and channels-last, the per-channel clip max(x, t) and the rounding run as one chain
        // in tiles of whole channel rows: the values must be those of each op over the whole array
        SyntheticNets s = new SyntheticNets("lower", 73, 3, 12);
        Network q = quantizedChain(s, true);
        Network nhwc = org.dfq4j.rewrite.execution.ChannelsLast.of(LowerFakeQuant.of(q).network()).network();
        INDArray batch = s.calibration().mul(1.5);
        String y = GraphView.of(q).output(GraphView.of(q).consumers("clip").get(0));
        nhwc.setElementwiseTile(0);
        Map<String, INDArray> opByOp = nhwc.run(batch, List.of(y, nhwc.outputs().get(0)));
        for (int tile : new int[] {9, 64, 1000}) {
            nhwc.setElementwiseTile(tile);
            Map<String, INDArray> tiled = nhwc.run(batch, List.of(y, nhwc.outputs().get(0)));
            assertEquals(opByOp, tiled, "tiles of " + tile);
        }
        assertTrue(SyntheticNets.relativeError(opByOp.get(nhwc.outputs().get(0)), q.output(batch)) < 1e-4);
    }

    @Test
    void mobileNetV2EqualizedAndQuantizedLowersToTheFourOpValuesBitForBit() {
        // the paper's structure with ReLU6 kept as per-channel clips (--equalize), calibrated 8-bit
        // ranges: three-op rounding in tiles, channels-last, against the four-op rounding op by op
        SyntheticNets s = new SyntheticNets("mobilenetv2", 61, 3, 16);
        Network net = org.dfq4j.rewrite.testing.SyntheticMobileNetV2.build(s, 10);
        Network q = Pipeline.of(RewriteDriver.of(new org.dfq4j.rewrite.transform.FoldBatchNorm()),
                org.dfq4j.rewrite.transform.CrossLayerEqualization.keepingRelu6(),
                new QuantizeWeights(QuantScheme.perTensor(8, false)),
                new InsertFakeQuant(8, RangeSource.calibration(List.of(s.calibration()))),
                RewriteDriver.of(new FoldClampsIntoFakeQuant())).run(net).network();
        LowerFakeQuant.Lowered three = LowerFakeQuant.of(q);
        LowerFakeQuant.Lowered four = LowerFakeQuant.withFourOpRounding(q);
        GraphView g = GraphView.of(three.network());
        assertTrue(g.ops().stream().anyMatch(o -> g.kind(o) == OpKind.MAXIMUM), "per-channel clips, max for u < 0");
        Network fast = org.dfq4j.rewrite.execution.ChannelsLast.of(three.network()).network();
        Network reference = org.dfq4j.rewrite.execution.ChannelsLast.of(four.network()).network();
        reference.setElementwiseTile(0);
        INDArray batch = s.calibration().mul(1.2);
        INDArray expected = reference.output(batch);
        assertEquals(expected, fast.output(batch));
        assertEquals(expected, four.network().output(batch), "channels-last changes nothing either");
        // (against the fake-quant ops themselves this deep random network differs by the levels that
        // float rounding moves and ties, which the earlier tests bound layer by layer)
        System.out.printf("lowered against fake-quant ops, relative error %.3g%n",
                SyntheticNets.relativeError(expected, q.output(batch)));
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
        assertEquals(expected, savedAndLoaded(sd).output(Map.of("x", in), y).get(y));
    }

    /** {@code sd} saved to a file and loaded back. */
    private static SameDiff savedAndLoaded(SameDiff sd) throws IOException {
        File f = File.createTempFile("levels", ".sd");
        try {
            sd.save(f, false);
            return SameDiff.load(f, false);
        } finally {
            f.delete();
        }
    }

    @Test
    void threeOpRoundingIsTheFourOpRoundingTimesTheUnitAndSavesAndLoads() throws IOException {
        // ties (k + 0.5), values next to them, both bounds, far outside, for level ranges of each parity
        float[] ties = {-300.5f, -128.5f, -127.5f, -3.5f, -2.5f, -0.5f, 0.5f, 1.5f, 2.5f, 126.5f, 127.5f, 251.5f,
                252.5f, 254.5f, 255.5f, 0.49999997f, 0.50000006f, 1.4999999f, 2.5000002f, -1e9f, 1e9f, 4.2e6f, 0f};
        INDArray random = Nd4j.rand(DataType.FLOAT, 20_000).muli(700).subi(350);
        INDArray in = Nd4j.concat(0, Nd4j.createFromArray(ties), random, Transforms.round(random).addi(0.5));
        int[][] ranges = {{0, 255}, {-3, 252}, {-128, 127}, {-255, 0}, {-1, 254}, {0, 65535}, {-40000, 25535}};
        for (int[] r : ranges) {
            double unit = LowerFakeQuant.unit(r[0], r[1]);
            assertEquals(LowerFakeQuant.STEP, Math.abs(unit), "levels " + r[0] + ".." + r[1]);
            SameDiff sd = SameDiff.create();
            SDVariable x = sd.placeHolder("x", DataType.FLOAT, in.length());
            String three = LowerFakeQuant.roundToLevels(x.mul(unit), r[0], r[1], unit).div(unit).name();
            String four = LowerFakeQuant.roundToLevels(x, r[0], r[1]).name();
            INDArray reference = Transforms.min(Transforms.max(Nd4j.exec(new Rint(in, in.ulike())), r[0]), r[1]);
            Map<String, INDArray> out = sd.output(Map.of("x", in), three, four);
            assertEquals(reference, out.get(four), "four ops, levels " + r[0] + ".." + r[1]);
            assertEquals(reference, out.get(three), "three ops, levels " + r[0] + ".." + r[1]);
            // add, relu6, subtract against add, max, min, subtract (and the two multiplications by the unit)
            assertEquals(1, sd.getOps().values().stream().filter(o -> o.getOp().opName().equals("relu6")).count());
            assertEquals(9, sd.getOps().size());
            assertEquals(reference, savedAndLoaded(sd).output(Map.of("x", in), three).get(three));
        }
        // both bounds odd (a narrow symmetric range): the four-op form, whose ties go to even levels
        assertEquals(1.0, LowerFakeQuant.unit(-127, 127));
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
