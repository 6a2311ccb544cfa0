package org.dfq4j.rewrite.transform;

import java.util.Arrays;
import java.util.Optional;
import java.util.Set;
import org.dfq4j.rewrite.graph.OpAttributes;
import org.dfq4j.rewrite.graph.OpKind;
import org.dfq4j.rewrite.pattern.MatchResult;
import org.dfq4j.rewrite.pattern.TypedPattern;
import org.dfq4j.rewrite.view.GraphView;
import org.nd4j.linalg.api.ndarray.INDArray;

/**
 * An op that may sit between two weight layers and acts on each channel separately, classified by
 * how it treats a per-channel scale or shift: activations (ReLU, ReLU6, LeakyReLU, a per-channel
 * clip {@code minimum(x, t[1,C,1,1])}), zero padding, average and max pooling, global average
 * pooling and the reshape that flattens a kept-dims global pool.
 */
public record PerChannelOp(String op, Kind kind, double alpha, String clipConstant) {

    /** The kinds, by how they treat a per-channel scale or shift. */
    public enum Kind {
        /** max(x, 0). */
        RELU,
        /** min(max(x, 0), 6). */
        RELU6,
        /** x for x > 0, alpha x otherwise. */
        LEAKY_RELU,
        /** min(x, t_c) with a constant t of one value per channel. */
        CLIP,
        /** zero padding of the spatial axes. */
        ZERO_PAD,
        AVG_POOL,
        MAX_POOL,
        /** mean over the spatial axes (2, 3). */
        GLOBAL_AVG_POOL,
        /** a reshape of a kept-dims global pool [N,C,1,1] to [N,C]. */
        FLATTEN_POOLED;

        /** Pooling and padding: pass a spatially constant value and commute with per-channel scaling. */
        public boolean isSpatial() {
            return this == ZERO_PAD || this == AVG_POOL || this == MAX_POOL || this == GLOBAL_AVG_POOL
                    || this == FLATTEN_POOLED;
        }
    }

    /** The ops that commute with a positive per-channel scale s: f(s x) = s f(x) (CLIP if t scales too). */
    public static final Set<Kind> SCALE_COMMUTING = Set.of(Kind.RELU, Kind.LEAKY_RELU, Kind.CLIP, Kind.ZERO_PAD,
            Kind.AVG_POOL, Kind.MAX_POOL, Kind.GLOBAL_AVG_POOL, Kind.FLATTEN_POOLED);

    /** Classifies an op; null when it is none of the kinds (or not in a form the transforms handle). */
    public static PerChannelOp classify(GraphView g, String op) {
        OpAttributes a = g.attributes(op);
        switch (a.kind()) {
            case RELU:
                return cutoffIsZero(a) ? new PerChannelOp(op, Kind.RELU, 0, null) : null;
            case RELU6:
                return cutoffIsZero(a) ? new PerChannelOp(op, Kind.RELU6, 0, null) : null;
            case LEAKY_RELU:
                return a.leakyReluAlpha().isPresent()
                        ? new PerChannelOp(op, Kind.LEAKY_RELU, a.leakyReluAlpha().getAsDouble(), null) : null;
            case MINIMUM:
                return clip(g, op);
            case PAD:
                return zeroSpatialPad(g, op, a) ? new PerChannelOp(op, Kind.ZERO_PAD, 0, null) : null;
            case AVG_POOL:
                return a.nhwc().equals(Optional.of(false)) ? new PerChannelOp(op, Kind.AVG_POOL, 0, null) : null;
            case MAX_POOL:
                return a.nhwc().equals(Optional.of(false)) ? new PerChannelOp(op, Kind.MAX_POOL, 0, null) : null;
            case MEAN:
                return spatialMean(g, op) ? new PerChannelOp(op, Kind.GLOBAL_AVG_POOL, 0, null) : null;
            case RESHAPE:
                String p = g.producer(g.inputs(op).get(0));
                return p != null && spatialMean(g, p) && g.attributes(p).keepDims()
                        ? new PerChannelOp(op, Kind.FLATTEN_POOLED, 0, null) : null;
            default:
                return null;
        }
    }

    /** A pattern matching one op of the allowed kinds, its value the classified op; the failure says what the op is. */
    public static TypedPattern<PerChannelOp> pattern(Set<Kind> allowed) {
        return new TypedPattern<>() {
            @Override
            public MatchResult match(GraphView g, String op) {
                PerChannelOp p = classify(g, op);
                if (p == null) {
                    return MatchResult.noMatch("'" + op + "' (" + g.opType(op) + ") does not act per channel");
                }
                return allowed.contains(p.kind()) ? MatchResult.of(op)
                        : MatchResult.noMatch("'" + op + "' (" + p.kind() + ") is not allowed here");
            }

            @Override
            public PerChannelOp value(GraphView g, String op) {
                return classify(g, op);
            }
        };
    }

    /** min(x, t) with x first and t a constant [1,C,1,1], [1,C] or [C] read only by this op. */
    private static PerChannelOp clip(GraphView g, String op) {
        var in = g.inputs(op);
        if (in.size() != 2 || g.isConstant(in.get(0)) || !g.isConstant(in.get(1))
                || g.consumers(in.get(1)).size() != 1) {
            return null;
        }
        long[] s = g.constantShape(in.get(1));
        boolean perChannel = s.length == 1
                || (s.length == 2 && s[0] == 1)
                || (s.length == 4 && s[0] == 1 && s[2] == 1 && s[3] == 1);
        return perChannel ? new PerChannelOp(op, Kind.CLIP, 0, in.get(1)) : null;
    }

    private static boolean cutoffIsZero(OpAttributes a) {
        return a.scalar().isPresent() && a.scalar().getAsDouble() == 0;
    }

    private static boolean zeroSpatialPad(GraphView g, String op, OpAttributes a) {
        var in = g.inputs(op);
        if (a.constantPadValue().isEmpty() || a.constantPadValue().getAsDouble() != 0
                || in.size() != 2 || !g.isConstant(in.get(1))) {
            return false;
        }
        INDArray p = g.constant(in.get(1));
        return p.rank() == 2 && p.size(0) == 4 && p.getRow(0).sumNumber().doubleValue() == 0
                && p.getRow(1).sumNumber().doubleValue() == 0;
    }

    /** Whether op is a mean over the spatial axes (2, 3) of an NCHW tensor: global average pooling. */
    public static boolean spatialMean(GraphView g, String op) {
        if (g.kind(op) != OpKind.MEAN) {
            return false;
        }
        return g.attributes(op).reductionAxes().map(d -> Arrays.equals(d, new int[] {2, 3})).orElse(false);
    }
}
