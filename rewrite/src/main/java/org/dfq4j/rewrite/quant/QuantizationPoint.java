package org.dfq4j.rewrite.quant;

import static org.dfq4j.rewrite.pattern.Patterns.anyOf;
import static org.dfq4j.rewrite.pattern.Patterns.capture;
import static org.dfq4j.rewrite.pattern.Patterns.followedByAny;
import static org.dfq4j.rewrite.pattern.Patterns.layer;
import static org.dfq4j.rewrite.pattern.Patterns.op;

import java.util.ArrayList;
import java.util.EnumSet;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import org.dfq4j.rewrite.graph.OpKind;
import org.dfq4j.rewrite.graph.TensorRange;
import org.dfq4j.rewrite.pattern.Capture;
import org.dfq4j.rewrite.pattern.Match;
import org.dfq4j.rewrite.pattern.MatchResult;
import org.dfq4j.rewrite.pattern.Pattern;
import org.dfq4j.rewrite.pattern.TypedPattern;
import org.dfq4j.rewrite.view.GraphView;
import org.nd4j.linalg.api.ndarray.INDArray;

/**
 * A tensor an integer runtime quantizes: the network input, each weight layer's output and each add
 * and concat output (the anchor). When the anchor's only consumer is an activation (relu, relu6,
 * leakyrelu, or a clip by a constant: {@code minimum}/{@code maximum}, e.g. the per-channel clip
 * relu then minimum), the runtime fuses it and quantizes the activation's output instead.
 *
 * @param anchor      the input, layer, add or concat output
 * @param tensor      the variable that is quantized: the anchor or the last fused activation's output
 * @param activations the fused activation ops between them, in order
 */
public record QuantizationPoint(String anchor, String tensor, List<String> activations) {

    private static final Set<OpKind> ACTIVATIONS = EnumSet.of(OpKind.RELU, OpKind.RELU6, OpKind.LEAKY_RELU);

    /** The fused activation ops after an anchor, in order. */
    public static final Capture<String> ACTIVATION = Capture.of("activation", String.class);

    /** A weight layer, add or concat, then the activations it fuses (zero or more). */
    public static final Pattern PATTERN = followedByAny(anyOf(layer(), op(OpKind.ADD, OpKind.CONCAT)),
            capture(ACTIVATION, activation()));

    public QuantizationPoint {
        activations = List.copyOf(activations);
    }

    /** The point a match of {@link #PATTERN} found. */
    public static QuantizationPoint of(GraphView g, Match m) {
        List<String> chain = m.getAll(ACTIVATION);
        String anchor = g.output(m.anchor());
        return new QuantizationPoint(anchor, chain.isEmpty() ? anchor : g.output(chain.get(chain.size() - 1)), chain);
    }

    /** The network input's point: the placeholder and the activations it is read through (if any). */
    static QuantizationPoint ofInput(GraphView g, String placeholder) {
        String t = placeholder;
        List<String> chain = new ArrayList<>();
        for (String c = g.soleConsumer(t); c != null && isActivation(g, c); c = g.soleConsumer(t)) {
            chain.add(c);
            t = g.output(c);
        }
        return new QuantizationPoint(placeholder, t, chain);
    }

    /** The quantization points of a graph, the input first, then in topological order. */
    public static List<QuantizationPoint> find(GraphView g) {
        List<QuantizationPoint> points = new ArrayList<>();
        for (String p : g.placeholders()) {
            points.add(ofInput(g, p));
        }
        Set<String> seen = new HashSet<>();
        for (String op : g.ops()) {
            MatchResult r = PATTERN.match(g, op);
            if (r.matched() && seen.add(g.output(op))) {
                points.add(of(g, r.match()));
            }
        }
        return points;
    }

    /** A fused activation: relu, relu6, leakyrelu, or minimum/maximum with exactly one constant operand (a clip). */
    private static TypedPattern<String> activation() {
        return new TypedPattern<>() {
            @Override
            public MatchResult match(GraphView g, String op) {
                return isActivation(g, op) ? MatchResult.of(op)
                        : MatchResult.noMatch("'" + op + "' (" + g.opType(op) + ") is not a fused activation");
            }

            @Override
            public String value(GraphView g, String op) {
                return op;
            }
        };
    }

    private static boolean isActivation(GraphView g, String op) {
        OpKind k = g.kind(op);
        if (ACTIVATIONS.contains(k)) {
            return true;
        }
        if (k == OpKind.MINIMUM || k == OpKind.MAXIMUM) {
            List<String> in = g.inputs(op);
            return in.size() == 2 && (g.isConstant(in.get(0)) != g.isConstant(in.get(1)));
        }
        return false;
    }

    /** A per-tensor range mapped through the activation ops of this point (each is monotone). */
    static TensorRange through(GraphView g, List<String> ops, TensorRange r) {
        for (String op : ops) {
            r = through(g, op, r);
        }
        return r;
    }

    private static TensorRange through(GraphView g, String op, TensorRange r) {
        switch (g.kind(op)) {
            case RELU:
                return new TensorRange(Math.max(0, r.min()), Math.max(0, r.max()));
            case RELU6:
                return new TensorRange(clamp(r.min(), 0, 6), clamp(r.max(), 0, 6));
            case LEAKY_RELU: {
                double alpha = g.attributes(op).scalar().orElseThrow();
                return new TensorRange(leaky(r.min(), alpha), leaky(r.max(), alpha));
            }
            default: { // minimum / maximum with a constant
                List<String> in = g.inputs(op);
                INDArray c = g.constant(g.isConstant(in.get(0)) ? in.get(0) : in.get(1));
                double cMin = c.minNumber().doubleValue();
                double cMax = c.maxNumber().doubleValue();
                return g.kind(op) == OpKind.MINIMUM
                        ? new TensorRange(Math.min(r.min(), cMin), Math.min(r.max(), cMax))
                        : new TensorRange(Math.max(r.min(), cMin), Math.max(r.max(), cMax));
            }
        }
    }

    private static double clamp(double x, double lo, double hi) {
        return Math.max(lo, Math.min(hi, x));
    }

    private static double leaky(double x, double alpha) {
        return x > 0 ? x : alpha * x;
    }
}
