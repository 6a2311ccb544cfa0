package org.dfq4j.rewrite.graph;

import java.util.Arrays;

/**
 * Per-channel distribution of a layer's pre-activation output, ~ N(mean[c], std[c]^2). After
 * BatchNorm folding this is (beta, |gamma|) of the folded BN (METHOD.md section 1); cross-layer
 * equalization divides both by the channel scale and high-bias absorption shifts the mean.
 */
public record ChannelStats(double[] mean, double[] std) {
    public ChannelStats {
        if (mean.length != std.length) {
            throw new IllegalArgumentException("mean and std lengths differ: " + mean.length + " vs " + std.length);
        }
        mean = mean.clone();
        std = std.clone();
    }

    public int channels() {
        return mean.length;
    }

    @Override
    public double[] mean() {
        return mean.clone();
    }

    @Override
    public double[] std() {
        return std.clone();
    }

    public double mean(int c) {
        return mean[c];
    }

    public double std(int c) {
        return std[c];
    }

    /** Stats of x / s per channel. */
    public ChannelStats divide(double[] s) {
        double[] m = new double[mean.length];
        double[] d = new double[mean.length];
        for (int c = 0; c < m.length; c++) {
            m[c] = mean[c] / s[c];
            d[c] = std[c] / s[c];
        }
        return new ChannelStats(m, d);
    }

    /** Stats of x - shift per channel. */
    public ChannelStats shift(double[] shift) {
        double[] m = new double[mean.length];
        for (int c = 0; c < m.length; c++) {
            m[c] = mean[c] - shift[c];
        }
        return new ChannelStats(m, std);
    }

    @Override
    public boolean equals(Object o) {
        return o instanceof ChannelStats s && Arrays.equals(mean, s.mean) && Arrays.equals(std, s.std);
    }

    @Override
    public int hashCode() {
        return 31 * Arrays.hashCode(mean) + Arrays.hashCode(std);
    }

    @Override
    public String toString() {
        return "ChannelStats[" + mean.length + " channels]";
    }
}
