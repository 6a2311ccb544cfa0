package org.dfq4j.rewrite.quant;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.SplittableRandom;
import java.util.function.DoubleUnaryOperator;
import org.junit.jupiter.api.Test;

class ClippedNormalTest {

    private static final int SAMPLES = 1_000_000;

    /** Monte-Carlo mean and variance of f(N(mu, sigma^2)), and the standard errors of both. */
    private static double[] monteCarlo(double mu, double sigma, DoubleUnaryOperator f, long seed) {
        SplittableRandom r = new SplittableRandom(seed);
        double s = 0;
        double s2 = 0;
        double s4 = 0;
        double[] v = new double[SAMPLES];
        for (int i = 0; i < SAMPLES; i++) {
            double x = f.applyAsDouble(mu + sigma * gaussian(r));
            v[i] = x;
            s += x;
        }
        double mean = s / SAMPLES;
        for (double x : v) {
            double d = (x - mean) * (x - mean);
            s2 += d;
            s4 += d * d;
        }
        double var = s2 / (SAMPLES - 1);
        double varOfVar = (s4 / SAMPLES - var * var) / SAMPLES;
        return new double[] {mean, var, Math.sqrt(var / SAMPLES), Math.sqrt(Math.max(varOfVar, 0))};
    }

    private static double gaussian(SplittableRandom r) { // Box-Muller
        double u = 1 - r.nextDouble();
        return Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * r.nextDouble());
    }

    private static void assertMatches(ClippedNormal d, DoubleUnaryOperator f, long seed) {
        double[] mc = monteCarlo(d.mu(), d.sigma(), f, seed);
        assertEquals(mc[0], d.mean(), 4 * mc[2] + 1e-12, "mean of " + d);
        assertEquals(mc[1], d.variance(), 4 * mc[3] + 1e-12, "variance of " + d);
    }

    @Test
    void reluMeanMatchesMonteCarloAndTheMethodFormula() {
        double[][] cases = {{0.5, 1.0}, {-1.2, 0.7}, {3.0, 0.5}, {-4.0, 1.0}};
        long seed = 11;
        for (double[] c : cases) {
            ClippedNormal d = ClippedNormal.normal(c[0], c[1]).clip(0, Double.POSITIVE_INFINITY);
            assertMatches(d, x -> Math.max(0, x), seed++);
            double a = -c[0] / c[1];
            double method = c[1] * StandardNormal.pdf(a) + c[0] * (1 - StandardNormal.cdf(a));
            assertEquals(method, d.mean(), 1e-12);
        }
    }

    @Test
    void clippedMeanMatchesMonteCarloAndTheMethodFormula() {
        double[][] cases = {{2.0, 3.0, 0, 6}, {5.5, 1.0, 0, 6}, {-0.5, 2.0, 0, 1.5}, {1.0, 0.3, -1, 1}};
        long seed = 21;
        for (double[] c : cases) {
            double mu = c[0];
            double sigma = c[1];
            double lo = c[2];
            double hi = c[3];
            ClippedNormal d = ClippedNormal.normal(mu, sigma).clip(lo, hi);
            assertMatches(d, x -> Math.max(lo, Math.min(hi, x)), seed++);
            double al = (lo - mu) / sigma;
            double be = (hi - mu) / sigma;
            double method = sigma * (StandardNormal.pdf(al) - StandardNormal.pdf(be))
                    + mu * (StandardNormal.cdf(be) - StandardNormal.cdf(al)) + lo * StandardNormal.cdf(al)
                    + hi * (1 - StandardNormal.cdf(be));
            assertEquals(method, d.mean(), 1e-12);
        }
    }

    @Test
    void leakyReluMomentsMatchMonteCarlo() {
        ClippedNormal d = ClippedNormal.normal(0.3, 1.5);
        ClippedNormal f = d.leakyRelu(0.1);
        double[] mc = monteCarlo(0.3, 1.5, x -> x > 0 ? x : 0.1 * x, 31);
        assertEquals(mc[0], f.mean(), 4 * mc[2]);
        assertEquals(mc[1], f.variance(), 4 * mc[3]);
        ClippedNormal relu = d.clip(0, Double.POSITIVE_INFINITY);
        assertEquals(relu.mean() + 0.1 * (0.3 - relu.mean()), f.mean(), 1e-12);
    }

    @Test
    void clippingComposesAndDegenerateCasesAreFinite() {
        ClippedNormal relu6ThenClip = ClippedNormal.normal(1, 2).clip(0, 6).clip(0, 2.5);
        assertEquals(0, relu6ThenClip.lo());
        assertEquals(2.5, relu6ThenClip.hi());
        ClippedNormal point = ClippedNormal.normal(-3, 0).clip(0, 6);
        assertEquals(0, point.mean());
        assertEquals(0, point.variance());
        ClippedNormal farTail = ClippedNormal.normal(-60, 1).clip(0, Double.POSITIVE_INFINITY);
        assertTrue(farTail.mean() >= 0 && farTail.mean() < 1e-300 + 1e-12);
        ClippedNormal disjoint = ClippedNormal.normal(1, 1).clip(0, 6).clip(7, 9);
        assertEquals(7, disjoint.mean(), 0);
        assertEquals(1, ClippedNormal.normal(1, 1).variance(), 1e-12);
        double[] r = ClippedNormal.normal(1, 2).clip(0, 6).range(6);
        assertEquals(0, r[0]);
        assertEquals(6, r[1]);
    }
}
