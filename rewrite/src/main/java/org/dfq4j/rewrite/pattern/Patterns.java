package org.dfq4j.rewrite.pattern;

import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import java.util.function.BiPredicate;
import org.dfq4j.rewrite.graph.WeightLayer;
import org.dfq4j.rewrite.view.GraphView;

/**
 * Static factories for {@link Pattern}s. Sequencing combinators ({@link #followedBy}, {@link #through})
 * step from a matched op to the sole consumer of its single output; a network output counts as a
 * consumer, so an op whose output is a network output has no sole consumer.
 */
public final class Patterns {

    private Patterns() {
    }

    /** Any op. */
    public static Pattern anyOp() {
        return (g, op) -> MatchResult.of(op);
    }

    /** An op of one of the given types. */
    public static Pattern op(String... types) {
        Set<String> ts = Set.of(types);
        return (g, op) -> {
            String t = g.opType(op);
            return ts.contains(t) ? MatchResult.of(op)
                    : MatchResult.noMatch("'" + op + "' is " + t + ", not " + String.join("/", types));
        };
    }

    /**
     * A canonical weight layer (conv2d, depthwise_conv2d, xw_plus_b with inputs x, W, b) whose weights
     * and bias are constants that no other op reads, so that editing them changes only this layer.
     */
    public static Pattern weightLayer() {
        return (g, op) -> {
            WeightLayer l = g.weightLayer(op);
            if (l == null) {
                return MatchResult.noMatch("'" + op + "' (" + g.opType(op) + ") is not a weight layer");
            }
            for (String v : List.of(l.weights(), l.bias())) {
                if (!g.isConstant(v)) {
                    return MatchResult.noMatch("layer '" + l.output() + "': '" + v + "' is not a constant");
                }
                if (g.consumers(v).size() != 1 || g.isNetworkOutput(v)) {
                    return MatchResult.noMatch("layer '" + l.output() + "': '" + v + "' is shared with other ops");
                }
            }
            return MatchResult.of(op);
        };
    }

    /** {@code p}, whose last op's output is read by exactly one op and is not a network output. */
    public static Pattern withSingleConsumer(Pattern p) {
        return (g, op) -> {
            MatchResult r = p.match(g, op);
            if (!r.matched()) {
                return r;
            }
            String why = whyNoSoleConsumer(g, r.match().last());
            return why == null ? r : MatchResult.noMatch(why);
        };
    }

    /** {@code first}, then {@code next} at the sole consumer of first's output. */
    public static Pattern followedBy(Pattern first, Pattern next) {
        return (g, op) -> {
            MatchResult r = first.match(g, op);
            if (!r.matched()) {
                return r;
            }
            String why = whyNoSoleConsumer(g, r.match().last());
            if (why != null) {
                return MatchResult.noMatch(why);
            }
            MatchResult n = next.match(g, g.soleConsumer(g.output(r.match().last())));
            return n.matched() ? MatchResult.of(r.match().then(n.match())) : n;
        };
    }

    /**
     * {@code head}, then zero or more ops matching {@code between}, then {@code tail}, each the sole
     * consumer of the one before. At each step {@code tail} is tried first. The failure says where and
     * why the chain stopped.
     */
    public static Pattern through(Pattern head, Pattern between, Pattern tail) {
        return (g, op) -> {
            MatchResult r = head.match(g, op);
            if (!r.matched()) {
                return r;
            }
            Match m = r.match();
            while (true) {
                String why = whyNoSoleConsumer(g, m.last());
                if (why != null) {
                    return MatchResult.noMatch(why);
                }
                String next = g.soleConsumer(g.output(m.last()));
                MatchResult t = tail.match(g, next);
                if (t.matched()) {
                    return MatchResult.of(m.then(t.match()));
                }
                MatchResult b = between.match(g, next);
                if (!b.matched()) {
                    return MatchResult.noMatch("chain from '" + op + "' stops at '" + next + "' (" + g.opType(next)
                            + "): " + b.reason());
                }
                m = m.then(b.match());
            }
        };
    }

    /** The first of the alternatives that matches; the failure lists every reason. */
    public static Pattern anyOf(Pattern... alternatives) {
        List<Pattern> ps = List.of(alternatives);
        return (g, op) -> {
            List<String> reasons = new ArrayList<>();
            for (Pattern p : ps) {
                MatchResult r = p.match(g, op);
                if (r.matched()) {
                    return r;
                }
                reasons.add(r.reason());
            }
            return MatchResult.noMatch(String.join("; ", reasons));
        };
    }

    /** {@code p} with its last op bound to {@code name}. */
    public static Pattern named(String name, Pattern p) {
        return (g, op) -> {
            MatchResult r = p.match(g, op);
            return r.matched() ? MatchResult.of(r.match().bindLast(name)) : r;
        };
    }

    /** {@code p} where {@code condition} also holds of the match; otherwise fails with {@code reason}. */
    public static Pattern where(Pattern p, BiPredicate<GraphView, Match> condition, String reason) {
        return (g, op) -> {
            MatchResult r = p.match(g, op);
            if (!r.matched() || condition.test(g, r.match())) {
                return r;
            }
            return MatchResult.noMatch("'" + op + "': " + reason);
        };
    }

    /** Why {@code op} has no sole consumer, or null when it has one. */
    private static String whyNoSoleConsumer(GraphView g, String op) {
        List<String> outs = g.outputs(op);
        if (outs.size() != 1) {
            return "'" + op + "' has " + outs.size() + " outputs";
        }
        String out = outs.get(0);
        if (g.isNetworkOutput(out)) {
            return "'" + out + "' is a network output";
        }
        int n = g.consumers(out).size();
        return n == 1 ? null : "'" + out + "' has " + n + " consumers";
    }
}
