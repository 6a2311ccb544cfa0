package org.dfq4j.rewrite.quant;

import java.util.List;
import org.dfq4j.rewrite.graph.TensorRange;

/**
 * MSE-optimal per-tensor clipping (METHOD.md section 8): the range [a, b] (a &lt;= 0 &lt;= b) that
 * minimises the expected squared quantization error of a tensor whose values are described by a
 * {@link Histogram}, over every pair of bin edges (a candidate grid that contains the min/max range,
 * so the chosen range is never worse than min/max under the same objective).
 *
 * <pre>
 *   E(a, b) = sum_{x &lt; a} n(x) (x - a)^2 + sum_{x &gt; b} n(x) (x - b)^2 + N_inside s^2 / 12,
 *   s = (b - a) / (qMax - qMin)
 * </pre>
 *
 * Values are the bin centres; exact zeros are counted apart (0 is a level, they cost nothing), so
 * the mass at 0 after a ReLU does not weigh on the rounding term. Prefix sums make each candidate
 * O(1). The histogram comes from calibration data ({@link CalibratedRanges}) or, data-free, from the
 * clipped-normal distributions of BatchNorm statistics ({@link #ofDistribution}), the per-channel
 * distributions combined per tensor (a mixture with equal weights: every channel has as many
 * values).
 */
public final class ClippingSearch {

    /** Number of histogram bins over a tensor's [min, max]. */
    public static final int BINS = 2048;
    /** At most this many candidate edges per side. */
    private static final int CANDIDATES = 512;

    private ClippingSearch() {
    }

    /**
     * Counts of a tensor's values in {@link #BINS} equal bins over [lo, hi], exact zeros apart.
     *
     * @param lo     smallest value
     * @param hi     largest value
     * @param counts mass per bin (any non-negative weights)
     * @param zeros  mass at exactly 0
     */
    public record Histogram(double lo, double hi, double[] counts, double zeros) {

        /** An empty histogram over [lo, hi]. */
        public static Histogram over(TensorRange r) {
            return new Histogram(r.min(), r.max(), new double[BINS], 0);
        }

        /** Adds values (non-finite ones are ignored; values outside [lo, hi] go to the end bins). */
        public Histogram add(float[] values) {
            double width = hi - lo;
            double z = 0;
            int n = counts.length;
            for (float v : values) {
                if (v == 0) {
                    z++;
                } else if (width > 0) {
                    int i = (int) ((v - lo) / width * n);
                    counts[i < 0 ? 0 : i >= n ? n - 1 : i]++;
                }
            }
            return new Histogram(lo, hi, counts, zeros + z);
        }

        /**
         * The histogram of f(x) for a monotone f (e.g. a LeakyReLU), each bin's mass moved to the bin of
         * f(its centre) in a histogram over f's image of [lo, hi]; zeros stay zeros when f(0) = 0.
         */
        public Histogram map(java.util.function.DoubleUnaryOperator f) {
            double a = f.applyAsDouble(lo);
            double b = f.applyAsDouble(hi);
            TensorRange r = new TensorRange(Math.min(a, b), Math.max(a, b));
            double[] out = new double[counts.length];
            for (int i = 0; i < counts.length; i++) {
                if (counts[i] > 0) {
                    out[r.width() == 0 ? 0 : bin(f.applyAsDouble(centre(i)), r)] += counts[i];
                }
            }
            return new Histogram(r.min(), r.max(), out, zeros);
        }

        double edge(int i) {
            return lo + (hi - lo) * i / counts.length;
        }

        double centre(int i) {
            return lo + (hi - lo) * (i + 0.5) / counts.length;
        }
    }

    /**
     * The histogram of a per-tensor mixture of clipped normals, one per channel, over [lo, hi]
     * (normally the n-sigma range with a large n): each channel's continuous part by its normal's
     * probability per bin, its point masses at the clip bounds at the bounds.
     */
    public static Histogram ofDistribution(ChannelDistribution d, TensorRange over) {
        double[] counts = new double[BINS];
        double zeros = 0;
        double width = over.width();
        for (ClippedNormal c : d.channels()) {
            if (width == 0 || c.sigma() == 0) {
                double v = Math.max(c.lo(), Math.min(c.hi(), c.mu()));
                if (v == 0) {
                    zeros++;
                } else {
                    counts[bin(v, over)]++;
                }
                continue;
            }
            double lo = Math.max(c.lo(), over.min());
            double hi = Math.min(c.hi(), over.max());
            double pLo = StandardNormal.cdf((c.lo() - c.mu()) / c.sigma()); // mass clipped to lo
            double pHi = StandardNormal.cdf((c.mu() - c.hi()) / c.sigma()); // mass clipped to hi
            for (double[] mass : List.of(new double[] {c.lo(), pLo}, new double[] {c.hi(), pHi})) {
                if (mass[1] > 0 && Double.isFinite(mass[0])) {
                    if (mass[0] == 0) {
                        zeros += mass[1];
                    } else {
                        counts[bin(mass[0], over)] += mass[1];
                    }
                }
            }
            if (!(lo < hi)) {
                continue;
            }
            int first = bin(lo, over);
            int last = bin(hi, over);
            double prev = StandardNormal.cdf((lo - c.mu()) / c.sigma());
            for (int i = first; i <= last; i++) {
                double right = Math.min(hi, over.min() + width * (i + 1) / BINS);
                double cdf = StandardNormal.cdf((right - c.mu()) / c.sigma());
                counts[i] += Math.max(0, cdf - prev);
                prev = cdf;
            }
        }
        return new Histogram(over.min(), over.max(), counts, zeros);
    }

    private static int bin(double v, TensorRange r) {
        int i = (int) ((v - r.min()) / r.width() * BINS);
        return i < 0 ? 0 : Math.min(BINS - 1, i);
    }

    /** The MSE-optimal range of a histogram for a scheme (asymmetric: a &lt;= 0 &lt;= b; symmetric: a = -b). */
    public static TensorRange best(Histogram h, QuantScheme scheme) {
        int n = h.counts().length;
        double[][] p = prefixSums(h);
        double[] p0 = p[0];
        double[] p1 = p[1];
        double[] p2 = p[2];
        double levels = scheme.qMax() - scheme.qMin();
        if (h.hi() == h.lo()) {
            return new TensorRange(Math.min(0, h.lo()), Math.max(0, h.hi()));
        }
        int zeroEdge = h.lo() >= 0 ? 0 : h.hi() <= 0 ? n : (int) Math.ceil(-h.lo() / (h.hi() - h.lo()) * n);
        int step = Math.max(1, n / CANDIDATES);
        double best = Double.POSITIVE_INFINITY;
        double bestA = Math.min(0, h.lo());
        double bestB = Math.max(0, h.hi());
        if (scheme.symmetric()) {
            double m = Math.max(Math.abs(h.lo()), Math.abs(h.hi()));
            for (int k = 1; k <= CANDIDATES; k++) {
                double b = m * k / CANDIDATES;
                double e = error(h, p0, p1, p2, -b, b, levels);
                if (e < best) {
                    best = e;
                    bestA = -b;
                    bestB = b;
                }
            }
            return new TensorRange(bestA, bestB);
        }
        java.util.PriorityQueue<double[]> top = new java.util.PriorityQueue<>((x, y) -> Double.compare(y[0], x[0]));
        for (int ja = zeroEdge; ja >= 0; ja = ja == 0 ? -1 : Math.max(0, ja - step)) {
            for (int jb = zeroEdge; jb <= n; jb = jb == n ? n + 1 : Math.min(n, jb + step)) {
                double a = Math.min(0, h.edge(ja));
                double b = Math.max(0, h.edge(jb));
                if (b == a) {
                    continue;
                }
                top.add(new double[] {error(p0, p1, p2, ja, jb, a, b, (b - a) / levels), a, b});
                if (top.size() > REFINED) {
                    top.poll();
                }
            }
        }
        // the best candidates of the smooth objective, and min/max, by the quantizer's error integrated over each bin
        top.add(new double[] {0, Math.min(0, h.lo()), Math.max(0, h.hi())});
        for (double[] c : top) {
            double e = exactError(h, scheme, c[1], c[2]);
            if (e < best) {
                best = e;
                bestA = c[1];
                bestB = c[2];
            }
        }
        return new TensorRange(bestA, bestB);
    }

    /** How many of the best candidates of the smooth objective are compared by {@link #exactError}. */
    private static final int REFINED = 48;

    /**
     * The quantizer's expected squared error over the histogram, each bin's mass spread uniformly over
     * the bin: sum over bins of n_i / w * integral over the bin of (Q(x) - x)^2 dx, integrated exactly
     * cell by cell of the quantizer (zeros cost nothing). Evaluating Q at the bin centres instead
     * would alias: with a few bins per level, a range whose levels happen to fall on bin centres would
     * look better than it is.
     */
    static double exactError(Histogram h, QuantScheme scheme, double a, double b) {
        QuantParams q = QuantParams.of(scheme, a, b);
        double e = 0;
        for (int i = 0; i < h.counts().length; i++) {
            double c = h.counts()[i];
            if (c > 0) {
                double l = h.edge(i);
                double r = h.edge(i + 1);
                e += c * (r > l ? binError(q, l, r) / (r - l) : sq(q.fakeQuantize(l) - l));
            }
        }
        return e;
    }

    /** Integral of (Q(x) - x)^2 over [l, r], l &lt; r, summed over the quantizer's cells that [l, r] crosses. */
    static double binError(QuantParams q, double l, double r) {
        double s = q.scale();
        if (s == 0) {
            return 0; // Q(x) = x
        }
        long z = q.zeroPoint();
        double total = 0;
        double x = l;
        long k = Math.max(q.qMin(), Math.min(q.qMax(), (long) Math.floor(l / s + 0.5) + z));
        while (x < r) {
            double v = (k - z) * s;
            double end = k == q.qMax() ? r : Math.min(r, (k - z + 0.5) * s);
            if (end > x) {
                total += (cube(end - v) - cube(x - v)) / 3;
                x = end;
            }
            k++;
        }
        return total;
    }

    private static double sq(double x) {
        return x * x;
    }

    private static double cube(double x) {
        return x * x * x;
    }

    /** The objective E(a, b) of a range (any a &lt;= 0 &lt;= b; symmetric schemes use a = -b). */
    public static double error(Histogram h, QuantScheme scheme, TensorRange r) {
        double[][] p = prefixSums(h);
        return error(h, p[0], p[1], p[2], r.min(), r.max(), scheme.qMax() - scheme.qMin());
    }

    /** Prefix sums of n, n x and n x^2 over the bins (x the bin centre), each of length bins + 1. */
    private static double[][] prefixSums(Histogram h) {
        int n = h.counts().length;
        double[][] p = new double[3][n + 1];
        for (int i = 0; i < n; i++) {
            double x = h.centre(i);
            double c = h.counts()[i];
            p[0][i + 1] = p[0][i] + c;
            p[1][i + 1] = p[1][i] + c * x;
            p[2][i + 1] = p[2][i] + c * x * x;
        }
        return p;
    }

    private static double error(Histogram h, double[] p0, double[] p1, double[] p2, double a, double b, double levels) {
        int n = h.counts().length;
        // bins whose centre lies below a / above b are clipped
        int ja = clampIndex(Math.ceil((a - h.lo()) / (h.hi() - h.lo()) * n - 0.5), n);
        int jb = clampIndex(Math.floor((b - h.lo()) / (h.hi() - h.lo()) * n - 0.5) + 1, n);
        return error(p0, p1, p2, ja, Math.max(ja, jb), a, b, (b - a) / levels);
    }

    private static int clampIndex(double i, int n) {
        return (int) Math.max(0, Math.min(n, i));
    }

    /** Clipping error of bins [0, ja) to a and [jb, n) to b, plus s^2/12 for the bins between. */
    private static double error(double[] p0, double[] p1, double[] p2, int ja, int jb, double a, double b, double s) {
        int n = p0.length - 1;
        double below = p2[ja] - 2 * a * p1[ja] + a * a * p0[ja];
        double above = (p2[n] - p2[jb]) - 2 * b * (p1[n] - p1[jb]) + b * b * (p0[n] - p0[jb]);
        double inside = p0[jb] - p0[ja];
        return Math.max(0, below) + Math.max(0, above) + inside * s * s / 12;
    }
}
