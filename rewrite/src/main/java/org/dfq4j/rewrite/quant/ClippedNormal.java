package org.dfq4j.rewrite.quant;

/**
 * The distribution of clamp(X, lo, hi) with X ~ N(mu, sigma^2): a pre-activation after ReLU (lo = 0),
 * ReLU6 (lo = 0, hi = 6) or a per-channel clip; lo = -Infinity and hi = +Infinity give the plain
 * normal. Mean and variance are the closed forms of METHOD.md section 5, written in the
 * standardized bounds alpha = (lo - mu) / sigma, beta = (hi - mu) / sigma:
 *
 * <pre>
 *   E[x]   = mu + sigma * (phi(alpha) - phi(beta) + alpha Phi(alpha) + beta (1 - Phi(beta)))
 *   Var[x] = sigma^2 * (Phi(beta) - Phi(alpha) + alpha phi(alpha) - beta phi(beta)
 *                       + alpha^2 Phi(alpha) + beta^2 (1 - Phi(beta)) - m^2)
 * </pre>
 *
 * where m is the bracket of the mean; this equals the METHOD form sigma (phi(alpha) - phi(beta)) +
 * mu (Phi(beta) - Phi(alpha)) + a Phi(alpha) + b (1 - Phi(beta)). With lo = 0, hi = Infinity it is
 * the ReLU mean sigma phi(-mu/sigma) + mu (1 - Phi(-mu/sigma)).
 */
public record ClippedNormal(double mu, double sigma, double lo, double hi) {

    public ClippedNormal {
        if (Double.isNaN(mu) || Double.isInfinite(mu) || !(sigma >= 0) || Double.isInfinite(sigma)) {
            throw new IllegalArgumentException("invalid normal N(" + mu + ", " + sigma + "^2)");
        }
        if (!(lo <= hi)) {
            throw new IllegalArgumentException("invalid clip bounds [" + lo + ", " + hi + "]");
        }
    }

    /** N(mu, sigma^2) without clipping. */
    public static ClippedNormal normal(double mu, double sigma) {
        return new ClippedNormal(mu, sigma, Double.NEGATIVE_INFINITY, Double.POSITIVE_INFINITY);
    }

    /** The same variable clipped further to [a, b] (the bounds intersect). */
    public ClippedNormal clip(double a, double b) {
        double l = Math.max(lo, a);
        double h = Math.min(hi, b);
        if (l > h) { // [a, b] misses [lo, hi]: every value lands on the bound of [a, b] nearest to it
            l = a > hi ? a : b;
            h = l;
        }
        return new ClippedNormal(mu, sigma, l, h);
    }

    /** True when neither bound is finite. */
    public boolean unclipped() {
        return lo == Double.NEGATIVE_INFINITY && hi == Double.POSITIVE_INFINITY;
    }

    public double mean() {
        if (sigma == 0) {
            return Math.max(lo, Math.min(hi, mu));
        }
        return mu + sigma * standardizedMean(alpha(), beta());
    }

    public double variance() {
        if (sigma == 0 || lo == hi) {
            return 0;
        }
        double a = alpha();
        double b = beta();
        double m = standardizedMean(a, b);
        double second = StandardNormal.cdf(b) - StandardNormal.cdf(a) + times(a, StandardNormal.pdf(a))
                - times(b, StandardNormal.pdf(b)) + times(a * a, StandardNormal.cdf(a))
                + times(b * b, StandardNormal.cdf(-b));
        return sigma * sigma * Math.max(0, second - m * m);
    }

    public double std() {
        return Math.sqrt(variance());
    }

    /** The normal with this variable's mean and variance (moment matching), unclipped. */
    public ClippedNormal momentMatched() {
        return unclipped() ? this : normal(mean(), std());
    }

    /**
     * f(x) = x for x > 0, alpha x otherwise, applied to this variable (moment-matched first if clipped),
     * returned as the normal with f's mean and variance: E[f] = E[r] + alpha (E[x] - E[r]) and
     * E[f^2] = E[r^2] + alpha^2 (E[x^2] - E[r^2]) with r = ReLU(x).
     */
    public ClippedNormal leakyRelu(double alpha) {
        ClippedNormal x = momentMatched();
        ClippedNormal r = x.clip(0, Double.POSITIVE_INFINITY);
        double er = r.mean();
        double er2 = r.variance() + er * er;
        double ex2 = x.mu * x.mu + x.sigma * x.sigma;
        double mean = er + alpha * (x.mu - er);
        double second = er2 + alpha * alpha * (ex2 - er2);
        return normal(mean, Math.sqrt(Math.max(0, second - mean * mean)));
    }

    /** [mu - n sigma, mu + n sigma] clipped to [lo, hi]: the data-free range of METHOD.md section 7. */
    public double[] range(double n) {
        double a = Math.max(lo, Math.min(hi, mu - n * sigma));
        double b = Math.max(lo, Math.min(hi, mu + n * sigma));
        return new double[] {a, b};
    }

    private double alpha() {
        return (lo - mu) / sigma;
    }

    private double beta() {
        return (hi - mu) / sigma;
    }

    /** (E[x] - mu) / sigma for bounds alpha, beta of the standardized variable. */
    private static double standardizedMean(double a, double b) {
        return StandardNormal.pdf(a) - StandardNormal.pdf(b) + times(a, StandardNormal.cdf(a))
                + times(b, StandardNormal.cdf(-b));
    }

    /** x * p where p is a tail probability or density that vanishes faster than x grows: 0 at infinite x. */
    private static double times(double x, double p) {
        return Double.isInfinite(x) ? 0 : x * p;
    }
}
