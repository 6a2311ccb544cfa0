package org.dfq4j.rewrite.quant;

import org.apache.commons.math3.special.Erf;

/** The standard normal density phi and distribution function Phi (via commons-math3's erfc, accurate in the tails). */
public final class StandardNormal {

    private static final double INV_SQRT_2PI = 1.0 / Math.sqrt(2 * Math.PI);
    private static final double SQRT_2 = Math.sqrt(2);

    private StandardNormal() {
    }

    /** phi(x) = exp(-x^2/2) / sqrt(2 pi); 0 at +-Infinity. */
    public static double pdf(double x) {
        return Double.isInfinite(x) ? 0 : INV_SQRT_2PI * Math.exp(-0.5 * x * x);
    }

    /** Phi(x) = erfc(-x / sqrt 2) / 2; 0 at -Infinity, 1 at +Infinity. */
    public static double cdf(double x) {
        if (x == Double.NEGATIVE_INFINITY) {
            return 0;
        }
        if (x == Double.POSITIVE_INFINITY) {
            return 1;
        }
        return 0.5 * Erf.erfc(-x / SQRT_2);
    }
}
