package org.dfq4j.rewrite.transform;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.List;
import org.dfq4j.rewrite.DfqException;
import org.dfq4j.rewrite.DfqRecipe;
import org.dfq4j.rewrite.engine.Pipeline;
import org.dfq4j.rewrite.engine.RewriteLog;
import org.dfq4j.rewrite.engine.Rewritten;
import org.dfq4j.rewrite.graph.Network;
import org.dfq4j.rewrite.testing.SyntheticNets;
import org.junit.jupiter.api.Test;
import org.nd4j.linalg.api.ndarray.INDArray;

/**
 * Partial equalization: every converged per-channel scale S becomes S^beta, and FP32 does not change, on
 * {@link ResidualEqualizationTest#stage(long, boolean)} with its ReLU6 triplet: kept clips, a residual stream
 * and ReLU pairs.
 */
class EqualizationStrengthTest {

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
            SyntheticNets s = ResidualEqualizationTest.stage(seed, true);
            Network folded = ResidualEqualizationTest.folded(s);
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
