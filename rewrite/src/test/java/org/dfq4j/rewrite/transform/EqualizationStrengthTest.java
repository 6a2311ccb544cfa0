package org.dfq4j.rewrite.transform;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.List;
import org.dfq4j.rewrite.DfqException;
import org.dfq4j.rewrite.DfqRecipe;
import org.dfq4j.rewrite.engine.Pipeline;
import org.dfq4j.rewrite.engine.RewriteDriver;
import org.dfq4j.rewrite.engine.RewriteLog;
import org.dfq4j.rewrite.engine.Rewritten;
import org.dfq4j.rewrite.graph.Network;
import org.dfq4j.rewrite.graph.NetworkBuilder;
import org.dfq4j.rewrite.graph.Padding;
import org.dfq4j.rewrite.testing.SyntheticNets;
import org.junit.jupiter.api.Test;
import org.nd4j.autodiff.samediff.SDVariable;
import org.nd4j.linalg.api.ndarray.INDArray;

/** Partial equalization: every converged per-channel scale S becomes S^beta, and FP32 does not change. */
class EqualizationStrengthTest {

    /**
     * conv -> BN -> relu6 -> depthwise -> BN -> relu6 -> proj (x0) -> expand -> BN -> relu -> dw -> BN -> relu
     * -> proj -> add(x0) -> expand -> BN -> relu -> gap -> fc: a triplet through kept ReLU6 clips, a residual
     * stream and a chain of ReLU pairs.
     */
    private static SyntheticNets net(long seed) {
        SyntheticNets n = new SyntheticNets("strength", seed, 3, 8);
        NetworkBuilder b = n.builder();
        SDVariable x = b.relu6("r1", n.calibratedBatchNorm("bn1", n.conv("conv1", n.input(), 3, 3, 8, 1, Padding.SAME),
                0.05, 4, -0.5, 2));
        x = b.relu6("r2", n.calibratedBatchNorm("bn2", n.depthwise("dw0", x, 3, 8, 1, 1, Padding.SAME), 0.05, 4, -0.5, 2));
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

    private static Rewritten equalized(Network folded, double strength) {
        return Pipeline.of(new CrossLayerEqualization(true, CrossLayerEqualization.DEFAULT_THRESHOLD,
                CrossLayerEqualization.DEFAULT_MAX_ITERATIONS, true, strength)).run(folded);
    }

    /** The pair and stream entries of the log, in order. */
    private static List<RewriteLog.Entry> scaled(Rewritten r) {
        return r.log().entries("CrossLayerEqualization").stream()
                .filter(e -> e.values().containsKey("minScale")).toList();
    }

    @Test
    void partialEqualizationRaisesEveryConvergedScaleToBetaAndKeepsFp32() {
        for (long seed : new long[] {5, 17}) {
            SyntheticNets s = net(seed);
            Network folded = RewriteDriver.of(new FoldBatchNorm()).run(s.builder().build("fc")).network();
            INDArray x = s.calibration();
            INDArray before = folded.output(x);
            List<RewriteLog.Entry> full = scaled(equalized(folded, 1));
            assertTrue(full.size() >= 4, "pairs and a stream to check: " + full);
            for (double beta : new double[] {0.5, 0.8}) {
                Rewritten r = equalized(folded, beta);
                double err = SyntheticNets.relativeError(before, r.network().output(x));
                assertTrue(err < 1e-5, "strength " + beta + " changed FP32 by " + err);
                List<RewriteLog.Entry> part = scaled(r);
                assertEquals(full.size(), part.size());
                for (int k = 0; k < full.size(); k++) {
                    assertEquals(full.get(k).message(), part.get(k).message());
                    for (String key : List.of("minScale", "maxScale")) {
                        double want = Math.pow(((Number) full.get(k).values().get(key)).doubleValue(), beta);
                        double got = ((Number) part.get(k).values().get(key)).doubleValue();
                        assertEquals(want, got, 1e-9 * Math.max(1, want), part.get(k).message() + " " + key);
                    }
                }
            }
        }
    }

    @Test
    void aStrengthOutsideZeroToOneIsRefused() {
        for (double beta : new double[] {0, -0.5, 1.5, Double.NaN}) {
            assertThrows(DfqException.class, () -> new CrossLayerEqualization(false, 1e-4, 10, false, beta));
            assertThrows(DfqException.class, () -> DfqRecipe.builder().equalize(true).equalizeStrength(beta).build());
        }
    }
}
