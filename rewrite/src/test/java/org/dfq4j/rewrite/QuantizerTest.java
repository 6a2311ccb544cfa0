package org.dfq4j.rewrite;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotSame;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.OptionalDouble;
import java.util.concurrent.atomic.AtomicInteger;
import org.dfq4j.rewrite.engine.RewriteLog;
import org.dfq4j.rewrite.engine.Rewritten;
import org.dfq4j.rewrite.graph.Network;
import org.dfq4j.rewrite.graph.OpKind;
import org.dfq4j.rewrite.graph.Padding;
import org.dfq4j.rewrite.graph.TensorRange;
import org.dfq4j.rewrite.quant.QuantizationPoint;
import org.dfq4j.rewrite.quant.RangeSource;
import org.dfq4j.rewrite.quant.RangeSpec;
import org.dfq4j.rewrite.testing.Snapshots;
import org.dfq4j.rewrite.testing.SyntheticNets;
import org.dfq4j.rewrite.transform.ReplaceRelu6;
import org.dfq4j.rewrite.view.GraphView;
import org.junit.jupiter.api.Test;
import org.nd4j.autodiff.samediff.SDVariable;
import org.nd4j.linalg.api.ndarray.INDArray;

/** The facade runs a recipe exactly as its pipelines do, loads calibration once and takes a user's range source. */
class QuantizerTest {

    private record Net(Network net, INDArray calibration) {
    }

    /** input -> conv -> BN -> relu6 -> depthwise -> BN -> relu6 -> conv -> gap -> fc. */
    private static Net block(long seed) {
        SyntheticNets s = new SyntheticNets("facade", seed, 3, 10);
        var b = s.builder();
        SDVariable r1 = b.relu6("r1", s.calibratedBatchNorm("bn1", s.conv("c1", s.input(), 3, 3, 8, 1, Padding.SAME)));
        SDVariable r2 = b.relu6("r2", s.calibratedBatchNorm("bn2", s.depthwise("d1", r1, 3, 8, 1, 1, Padding.SAME)));
        s.dense("fc", b.globalAvgPool("gap", s.conv("c2", r2, 1, 8, 6, 1, Padding.SAME), false), 6, 4);
        return new Net(b.build("fc"), s.calibration());
    }

    /** Counts how often images are asked for. */
    private static final class Counting implements Calibration {
        final AtomicInteger calls = new AtomicInteger();
        final Calibration inner;

        Counting(INDArray images) {
            inner = Calibration.of(List.of(images), "test images");
        }

        @Override
        public List<INDArray> batches(int n, long[] inputShape) {
            calls.incrementAndGet();
            return inner.batches(n, inputShape);
        }

        @Override
        public String description() {
            return inner.description();
        }
    }

    @Test
    void theFacadeIsTheRecipesPipelinesAndLeavesTheInputAlone() {
        Net n = block(3);
        DfqRecipe recipe = DfqRecipe.builder().equalize(true).correction(DfqRecipe.Correction.EMPIRICAL)
                .activationRanges(RangeSpec.calibration()).calibrationImages(5).build();
        Counting calibration = new Counting(n.calibration());
        Quantizer q = Quantizer.builder(recipe).calibration(calibration).build();
        List<float[]> before = new ArrayList<>(Snapshots.constants(n.net()).values());
        QuantizedNetwork out = q.quantize(n.net());
        assertEquals(1, calibration.calls.get(), "calibration images are loaded once for correction and ranges");
        assertEquals("calib:5", out.ranges());
        assertTrue(out.executable() == out.network(), "not lowered unless asked");

        List<INDArray> five = calibration.inner.batches(5, n.net().inputShape());
        Rewritten prepared = recipe.floatPipeline().run(n.net());
        Rewritten quantized = recipe.quantPipeline(RangeSource.calibrationMse(five, org.dfq4j.rewrite.quant.QuantScheme.perTensor(8, false)), five).run(prepared.network());
        Network manual = quantized.network();
        assertEquals(manual.output(n.calibration()), out.network().output(n.calibration()));
        assertEquals(prepared.network().output(n.calibration()), out.floatNetwork().output(n.calibration()));
        List<float[]> after = new ArrayList<>(Snapshots.constants(n.net()).values());
        assertEquals(before.size(), after.size());
        for (int i = 0; i < before.size(); i++) {
            assertTrue(Arrays.equals(before.get(i), after.get(i)), "the input network changed");
        }
        assertNotSame(n.net().sameDiff(), out.network().sameDiff());
        List<String> steps = steps(out.log());
        List<String> pipelines = new ArrayList<>(steps(prepared.log()));
        pipelines.addAll(steps(quantized.log()));
        assertEquals(pipelines, steps, "the facade's log is the recipe's two pipelines' logs");
        List<String> paperOrder = List.of("FoldBatchNorm", "EliminateDeadChannels", "KeepRelu6AsClip",
                "CrossLayerEqualization", "CorrectBiasEmpirically", "QuantizeWeights", "InsertFakeQuant",
                "FoldClampsIntoFakeQuant");
        assertEquals(paperOrder, steps.stream().filter(paperOrder::contains).toList(), "the paper's order");

        QuantizedNetwork lowered = Quantizer.builder(recipe).calibration(calibration).lowered(true).build()
                .quantize(n.net());
        assertTrue(lowered.execution().startsWith("lowered "), lowered.execution());
        GraphView executable = GraphView.of(lowered.executable());
        assertTrue(executable.ops().stream().anyMatch(o -> executable.kind(o) == OpKind.RELU6));
        assertTrue(executable.ops().stream().noneMatch(o -> executable.kind(o) == OpKind.FAKE_QUANT));
    }

    @Test
    void aUsersRangeSourceAndRuleAreUsed() {
        Net n = block(4);
        RangeSource fixed = new RangeSource() {
            @Override
            public String name() {
                return "fixed";
            }

            @Override
            public List<PointRange> ranges(GraphView g, List<QuantizationPoint> points) {
                return points.stream().map(p -> new PointRange(p, new TensorRange(-3, 3), "fixed by the test")).toList();
            }
        };
        DfqRecipe recipe = DfqRecipe.builder().rule(new ReplaceRelu6()).build();
        QuantizedNetwork out = Quantizer.builder(recipe).rangeSource(fixed).build().quantize(n.net());
        assertEquals("fixed", out.ranges());
        GraphView g = GraphView.of(out.network());
        assertEquals(0, g.ops().stream().filter(o -> g.kind(o) == OpKind.RELU6).count(), "the extra rule ran");
        List<RewriteLog.Entry> fq = out.log().entries("InsertFakeQuant").stream().filter(e -> e.values().containsKey("min"))
                .toList();
        assertTrue(fq.size() > 3);
        fq.forEach(e -> assertEquals(-3.0, e.number("min")));
    }

    @Test
    void missingCalibrationAndStatisticsAreOneLineErrors() {
        Net n = block(5);
        DfqRecipe calib = DfqRecipe.builder().activationRanges(RangeSpec.calibration()).build();
        DfqException e = assertThrows(DfqException.class, () -> Quantizer.builder(calib).build().quantize(n.net()));
        assertTrue(e.getMessage().contains("calibration images") && !e.getMessage().contains("--"), e.getMessage());
        DfqException bn = assertThrows(DfqException.class,
                () -> Quantizer.builder(DfqRecipe.builder().build()).build().quantize(n.net()));
        assertTrue(bn.getMessage().contains("input's value range") && !bn.getMessage().contains("--"), bn.getMessage());
        assertThrows(DfqException.class, () -> DfqRecipe.builder().activationBits(1).build());
        assertThrows(DfqException.class, () -> DfqRecipe.builder().calibrationImages(0).build());
    }

    @Test
    void anAutomaticStrengthKeepsTheCandidateClosestToFp32OnTheCalibrationImages() {
        Net n = block(7);
        DfqRecipe recipe = DfqRecipe.builder().equalize(true).correction(DfqRecipe.Correction.EMPIRICAL)
                .activationRanges(RangeSpec.calibration()).calibrationImages(5)
                .equalizeStrength(OptionalDouble.empty()).build();
        Counting calibration = new Counting(n.calibration());
        Rewritten chosen = Quantizer.builder(recipe).calibration(calibration).build().floatPipeline(n.net());
        assertEquals(1, calibration.calls.get(), "the candidates share one load of the calibration images");

        RewriteLog.Entry e = chosen.log().entries("ChooseEqualizationStrength").get(0);
        double strength = ((Number) e.values().get("strength")).doubleValue();
        double best = Double.NEGATIVE_INFINITY;
        for (double beta : DfqRecipe.STRENGTHS) {
            best = Math.max(best, ((Number) e.values().get("sqnrDb@" + beta)).doubleValue());
        }
        assertEquals(best, ((Number) e.values().get("sqnrDb@" + strength)).doubleValue(), 0.0, e.toString());

        // what was recorded for the winner is what that strength, given outright, gives on the same images
        List<INDArray> five = calibration.inner.batches(5, n.net().inputShape());
        Quantizer fixed = Quantizer.builder(recipe.toBuilder().equalizeStrength(strength).build())
                .calibration(Calibration.of(five, "the same five")).build();
        Rewritten prepared = fixed.floatPipeline(n.net());
        Network quantized = fixed.quantize(prepared).network();
        double signal = 0;
        double noise = 0;
        for (INDArray b : five) {
            INDArray ref = prepared.network().output(b);
            double r = ref.norm2Number().doubleValue();
            double d = ref.sub(quantized.output(b)).norm2Number().doubleValue();
            signal += r * r;
            noise += d * d;
        }
        assertEquals(best, 10 * Math.log10(signal / noise), 0.01);
        assertEquals(Snapshots.constants(prepared.network()).keySet(), Snapshots.constants(chosen.network()).keySet());
        INDArray x = n.calibration();
        double err = SyntheticNets.relativeError(n.net().output(x), chosen.network().output(x));
        assertTrue(err < 1e-5, "the chosen float network is the FP32 network, off by " + err);
    }

    @Test
    void aDataFreeRecipeHasNothingToChooseOnAndEqualizesFully() {
        Net n = block(8);
        DfqRecipe auto = DfqRecipe.builder().equalize(true).activationRanges(RangeSpec.none())
                .equalizeStrength(OptionalDouble.empty()).build();
        Rewritten r = Quantizer.builder(auto).build().floatPipeline(n.net());
        assertTrue(r.log().entries("ChooseEqualizationStrength").get(0).message().startsWith("strength 1"));
        Rewritten full = DfqRecipe.builder().equalize(true).activationRanges(RangeSpec.none()).build()
                .floatPipeline().run(n.net());
        Map<String, float[]> a = Snapshots.constants(r.network());
        Map<String, float[]> b = Snapshots.constants(full.network());
        assertEquals(b.keySet(), a.keySet());
        b.forEach((k, v) -> assertTrue(Arrays.equals(v, a.get(k)), k));
    }

    /** The steps of a log, in the order they first appear. */
    private static List<String> steps(RewriteLog log) {
        return log.entries().stream().map(RewriteLog.Entry::step).distinct().toList();
    }
}
