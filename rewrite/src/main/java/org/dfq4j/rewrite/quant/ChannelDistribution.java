package org.dfq4j.rewrite.quant;

import java.util.ArrayList;
import java.util.List;
import org.dfq4j.rewrite.graph.ChannelStats;
import org.dfq4j.rewrite.graph.TensorRange;

/**
 * The per-channel distribution of an activation tensor as the data-free method models it: channel c
 * is a clipped normal (METHOD.md sections 5 and 7). A weight layer's pre-activation is N(mean, std^2)
 * from its {@link ChannelStats}; activations clip it; residual adds sum means and variances.
 *
 * @param channels one distribution per channel (axis 1 of the tensor)
 */
public record ChannelDistribution(List<ClippedNormal> channels) {

    public ChannelDistribution {
        channels = List.copyOf(channels);
    }

    /** N(mean_c, std_c^2) per channel. */
    public static ChannelDistribution of(ChannelStats stats) {
        List<ClippedNormal> c = new ArrayList<>(stats.channels());
        for (int i = 0; i < stats.channels(); i++) {
            c.add(ClippedNormal.normal(stats.mean(i), Math.abs(stats.std(i))));
        }
        return new ChannelDistribution(c);
    }

    public int size() {
        return channels.size();
    }

    public ClippedNormal channel(int c) {
        return channels.get(c);
    }

    /** E[x_c] per channel. */
    public double[] means() {
        return channels.stream().mapToDouble(ClippedNormal::mean).toArray();
    }

    /** Every channel clipped to [lo, hi]. */
    public ChannelDistribution clip(double lo, double hi) {
        return new ChannelDistribution(channels.stream().map(c -> c.clip(lo, hi)).toList());
    }

    /** Channel c clipped to [lo[c], hi[c]]. */
    public ChannelDistribution clip(double[] lo, double[] hi) {
        List<ClippedNormal> out = new ArrayList<>(size());
        for (int c = 0; c < size(); c++) {
            out.add(channel(c).clip(lo[c], hi[c]));
        }
        return new ChannelDistribution(out);
    }

    /** LeakyReLU with slope alpha below zero (moment-matched). */
    public ChannelDistribution leakyRelu(double alpha) {
        return new ChannelDistribution(channels.stream().map(c -> c.leakyRelu(alpha)).toList());
    }

    /** The sum of independent tensors: means add, variances add. */
    public ChannelDistribution plus(ChannelDistribution o) {
        if (o.size() != size()) {
            throw new IllegalArgumentException("cannot add distributions of " + size() + " and " + o.size() + " channels");
        }
        List<ClippedNormal> out = new ArrayList<>(size());
        for (int c = 0; c < size(); c++) {
            ClippedNormal a = channel(c);
            ClippedNormal b = o.channel(c);
            out.add(ClippedNormal.normal(a.mean() + b.mean(), Math.sqrt(a.variance() + b.variance())));
        }
        return new ChannelDistribution(out);
    }

    /** Channels of several tensors one after the other (concat along the channel axis). */
    public static ChannelDistribution concat(List<ChannelDistribution> parts) {
        List<ClippedNormal> out = new ArrayList<>();
        parts.forEach(p -> out.addAll(p.channels()));
        return new ChannelDistribution(out);
    }

    /** Each channel repeated {@code times} times in a row (a [C,H,W] tensor flattened to C*H*W features). */
    public ChannelDistribution repeatEach(int times) {
        List<ClippedNormal> out = new ArrayList<>(size() * times);
        for (ClippedNormal c : channels) {
            for (int i = 0; i < times; i++) {
                out.add(c);
            }
        }
        return new ChannelDistribution(out);
    }

    /**
     * The data-free per-tensor range (METHOD.md section 7): min over channels of max(lo, mu - n sigma)
     * and max over channels of min(hi, mu + n sigma), i.e. clipped per channel by the activation.
     */
    public TensorRange range(double n) {
        double lo = Double.POSITIVE_INFINITY;
        double hi = Double.NEGATIVE_INFINITY;
        for (ClippedNormal c : channels) {
            double[] r = c.range(n);
            lo = Math.min(lo, r[0]);
            hi = Math.max(hi, r[1]);
        }
        return new TensorRange(lo, hi);
    }
}
