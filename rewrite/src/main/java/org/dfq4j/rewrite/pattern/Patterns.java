package org.dfq4j.rewrite.pattern;

import java.util.ArrayList;
import java.util.EnumSet;
import java.util.List;
import java.util.Set;
import java.util.function.BiPredicate;
import java.util.stream.Collectors;
import org.dfq4j.rewrite.graph.OpKind;
import org.dfq4j.rewrite.graph.WeightLayer;
import org.dfq4j.rewrite.view.GraphView;

/**
 * Static factories for {@link Pattern}s and {@link ValuePattern}s, composed the way MLIR and Error
 * Prone matchers are:
 *
 * <ul>
 *   <li>ops: {@link #anyOp()}, {@link #op(OpKind...)}, {@link #layer()}, {@link #weightLayer()};
 *   <li>forward along sole consumers: {@link #followedBy}, {@link #through}, {@link #followedByAny},
 *       {@link #withSingleConsumer};
 *   <li>backward along operands: {@link #operand} (by position), {@link #operands} (all positions),
 *       {@link #commutative} (a binary op, operands in either order), with value patterns
 *       {@link #anyValue()}, {@link #constant()}, {@link #placeholder()}, {@link #producedBy(Pattern)},
 *       {@link #soleUse(ValuePattern)};
 *   <li>alternatives and conditions: {@link #anyOf}, {@link #where} (refuses), {@link #filter}
 *       (not a candidate);
 *   <li>bindings: {@link #named} (an op by name), {@link #capture(Capture, TypedPattern)} (a typed
 *       value).
 * </ul>
 *
 * Sequencing combinators step from the op where a match ends to the sole consumer of its single
 * output; a network output counts as a consumer, so an op whose output is a network output has no
 * sole consumer. A chain that breaks after its head matched is a refusal (the pattern looked at
 * the place); failures of sub-patterns keep their kind otherwise.
 */
public final class Patterns {

    private Patterns() {
    }

    /** Any op. */
    public static Pattern anyOp() {
        return (g, op) -> MatchResult.of(op);
    }

    /** An op of one of the given kinds; anything else is not a candidate. */
    public static Pattern op(OpKind... kinds) {
        Set<OpKind> ks = kinds.length == 0 ? Set.of() : EnumSet.of(kinds[0], kinds);
        String names = ks.stream().map(OpKind::opName).sorted().collect(Collectors.joining("/"));
        return (g, op) -> ks.contains(g.kind(op)) ? MatchResult.of(op)
                : MatchResult.noMatch("'" + op + "' is " + g.opType(op) + ", not " + names);
    }

    /** A canonical weight layer (conv2d, depthwise_conv2d, xw_plus_b with inputs x, W, b), whatever holds W and b. */
    public static TypedPattern<WeightLayer> layer() {
        return new TypedPattern<>() {
            @Override
            public MatchResult match(GraphView g, String op) {
                return g.weightLayer(op) != null ? MatchResult.of(op)
                        : MatchResult.noMatch("'" + op + "' (" + g.opType(op) + ") is not a weight layer");
            }

            @Override
            public WeightLayer value(GraphView g, String op) {
                return g.weightLayer(op);
            }
        };
    }

    /**
     * A canonical weight layer whose weights and bias are constants that no other op reads, so that
     * editing them changes only this layer. A layer that shares them is refused.
     */
    public static TypedPattern<WeightLayer> weightLayer() {
        return new TypedPattern<>() {
            @Override
            public MatchResult match(GraphView g, String op) {
                WeightLayer l = g.weightLayer(op);
                if (l == null) {
                    return MatchResult.noMatch("'" + op + "' (" + g.opType(op) + ") is not a weight layer");
                }
                for (String v : List.of(l.weights(), l.bias())) {
                    if (!g.isConstant(v)) {
                        return MatchResult.refused("layer '" + l.output() + "': '" + v + "' is not a constant");
                    }
                    if (g.consumers(v).size() != 1 || g.isNetworkOutput(v)) {
                        return MatchResult.refused("layer '" + l.output() + "': '" + v + "' is shared with other ops");
                    }
                }
                return MatchResult.of(op);
            }

            @Override
            public WeightLayer value(GraphView g, String op) {
                return g.weightLayer(op);
            }
        };
    }

    /** {@code p}, whose last op's output is read by exactly one op and is not a network output; refused otherwise. */
    public static Pattern withSingleConsumer(Pattern p) {
        return (g, op) -> {
            MatchResult r = p.match(g, op);
            if (!r.matched()) {
                return r;
            }
            String why = whyNoSoleConsumer(g, r.match().last());
            return why == null ? r : MatchResult.refused(why);
        };
    }

    /** {@code first}, then {@code next} at the sole consumer of first's output (refused when there is none). */
    public static Pattern followedBy(Pattern first, Pattern next) {
        return (g, op) -> {
            MatchResult r = first.match(g, op);
            if (!r.matched()) {
                return r;
            }
            String why = whyNoSoleConsumer(g, r.match().last());
            if (why != null) {
                return MatchResult.refused(why);
            }
            MatchResult n = next.match(g, g.soleConsumer(g.output(r.match().last())));
            return n.matched() ? MatchResult.of(r.match().then(n.match())) : n;
        };
    }

    /**
     * {@code head}, then zero or more ops matching {@code between}, then {@code tail}, each the sole
     * consumer of the one before. At each step {@code tail} is tried first. A chain that stops is
     * refused, and the reason says where and why.
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
                    return MatchResult.refused(why);
                }
                String next = g.soleConsumer(g.output(m.last()));
                MatchResult t = tail.match(g, next);
                if (t.matched()) {
                    return MatchResult.of(m.then(t.match()));
                }
                MatchResult b = between.match(g, next);
                if (!b.matched()) {
                    return MatchResult.refused("chain from '" + g.describe(op) + "' stops at '" + g.describe(next)
                            + "' (" + g.opType(next) + "): " + b.reason());
                }
                m = m.then(b.match());
            }
        };
    }

    /**
     * {@code head}, then as many ops matching {@code step} as follow it, each the sole consumer of the
     * one before (zero or more, greedy). Never fails once {@code head} matched.
     */
    public static Pattern followedByAny(Pattern head, Pattern step) {
        return (g, op) -> {
            MatchResult r = head.match(g, op);
            if (!r.matched()) {
                return r;
            }
            Match m = r.match();
            while (whyNoSoleConsumer(g, m.last()) == null) {
                MatchResult s = step.match(g, g.soleConsumer(g.output(m.last())));
                if (!s.matched()) {
                    break;
                }
                m = m.then(s.match());
            }
            return MatchResult.of(m);
        };
    }

    /**
     * The first of the alternatives that matches. The failure lists every reason; it is a refusal if
     * any alternative refused.
     */
    public static Pattern anyOf(Pattern... alternatives) {
        List<Pattern> ps = List.of(alternatives);
        return (g, op) -> {
            List<String> reasons = new ArrayList<>();
            boolean refused = false;
            for (Pattern p : ps) {
                MatchResult r = p.match(g, op);
                if (r.matched()) {
                    return r;
                }
                refused |= r.refused();
                reasons.add(r.reason());
            }
            String why = String.join("; ", reasons);
            return refused ? MatchResult.refused(why) : MatchResult.noMatch(why);
        };
    }

    /** {@code p} with the op where it ends bound to {@code name}. */
    public static Pattern named(String name, Pattern p) {
        return (g, op) -> {
            MatchResult r = p.match(g, op);
            return r.matched() ? MatchResult.of(r.match().bindLast(name)) : r;
        };
    }

    /** {@code p}, with the typed value of the op where it ends captured by {@code c}. */
    public static <T> Pattern capture(Capture<T> c, TypedPattern<T> p) {
        return (g, op) -> {
            MatchResult r = p.match(g, op);
            return r.matched() ? MatchResult.of(r.match().capture(c, p.value(g, r.match().last()))) : r;
        };
    }

    /** {@code p} where {@code condition} also holds of the match; otherwise the op is refused with {@code reason}. */
    public static Pattern where(Pattern p, BiPredicate<GraphView, Match> condition, String reason) {
        return conditioned(p, condition, reason, true);
    }

    /** {@code p} where {@code condition} also holds of the match; otherwise the op is not a candidate. */
    public static Pattern filter(Pattern p, BiPredicate<GraphView, Match> condition, String reason) {
        return conditioned(p, condition, reason, false);
    }

    private static Pattern conditioned(Pattern p, BiPredicate<GraphView, Match> condition, String reason, boolean refuse) {
        return (g, op) -> {
            MatchResult r = p.match(g, op);
            if (!r.matched() || condition.test(g, r.match())) {
                return r;
            }
            String why = "'" + op + "': " + reason;
            return refuse ? MatchResult.refused(why) : MatchResult.noMatch(why);
        };
    }

    /**
     * {@code p}, whose last op's operand number {@code index} matches {@code operand}; the operand's
     * ops and bindings join the match, which still ends where {@code p} ended.
     */
    public static Pattern operand(Pattern p, int index, ValuePattern operand) {
        return (g, op) -> {
            MatchResult r = p.match(g, op);
            if (!r.matched()) {
                return r;
            }
            List<String> in = g.inputs(r.match().last());
            if (index < 0 || index >= in.size()) {
                return MatchResult.noMatch("'" + r.match().last() + "' has " + in.size() + " operands, no operand "
                        + index);
            }
            MatchResult o = operand.match(g, in.get(index));
            return o.matched() ? MatchResult.of(r.match().with(o.match())) : o;
        };
    }

    /** {@code p}, whose last op has exactly these operands, in order. */
    public static Pattern operands(Pattern p, ValuePattern... operands) {
        return (g, op) -> {
            MatchResult r = p.match(g, op);
            if (!r.matched()) {
                return r;
            }
            List<String> in = g.inputs(r.match().last());
            if (in.size() != operands.length) {
                return MatchResult.noMatch("'" + r.match().last() + "' has " + in.size() + " operands, not "
                        + operands.length);
            }
            Match m = r.match();
            for (int i = 0; i < operands.length; i++) {
                MatchResult o = operands[i].match(g, in.get(i));
                if (!o.matched()) {
                    return o;
                }
                m = m.with(o.match());
            }
            return MatchResult.of(m);
        };
    }

    /**
     * {@code p} ending at a binary op whose two operands match {@code a} and {@code b} in either
     * order (a + b = b + a): (a, b) is tried first. The bindings are those of the order that matched.
     */
    public static Pattern commutative(Pattern p, ValuePattern a, ValuePattern b) {
        Pattern ab = operands(p, a, b);
        Pattern ba = operands(p, b, a);
        return (g, op) -> {
            MatchResult r = ab.match(g, op);
            if (r.matched()) {
                return r;
            }
            MatchResult s = ba.match(g, op);
            if (s.matched()) {
                return s;
            }
            String why = r.reason().equals(s.reason()) ? r.reason() : r.reason() + "; swapped: " + s.reason();
            return r.refused() || s.refused() ? MatchResult.refused(why) : MatchResult.noMatch(why);
        };
    }

    /** Any variable. */
    public static ValuePattern anyValue() {
        return (g, v) -> MatchResult.of(Match.empty());
    }

    /** A constant. */
    public static ValuePattern constant() {
        return (g, v) -> g.isConstant(v) ? MatchResult.of(Match.empty().bindVar("constant", v))
                : MatchResult.noMatch("'" + v + "' is not a constant");
    }

    /** A constant for which {@code condition} holds; a constant without it is refused with {@code reason}. */
    public static ValuePattern constant(BiPredicate<GraphView, String> condition, String reason) {
        return (g, v) -> {
            if (!g.isConstant(v)) {
                return MatchResult.noMatch("'" + v + "' is not a constant");
            }
            return condition.test(g, v) ? MatchResult.of(Match.empty().bindVar("constant", v))
                    : MatchResult.refused("constant '" + v + "': " + reason);
        };
    }

    /** A placeholder (the network input). */
    public static ValuePattern placeholder() {
        return (g, v) -> g.isPlaceholder(v) ? MatchResult.of(Match.empty())
                : MatchResult.noMatch("'" + v + "' is not a placeholder");
    }

    /** The output of an op matching {@code p}; constants and placeholders are not candidates. */
    public static ValuePattern producedBy(Pattern p) {
        return (g, v) -> {
            String producer = g.producer(v);
            if (producer == null) {
                return MatchResult.noMatch("'" + v + "' is produced by no op");
            }
            return p.match(g, producer);
        };
    }

    /** A variable matching {@code p} that exactly one op reads and that is not a network output; refused otherwise. */
    public static ValuePattern soleUse(ValuePattern p) {
        return (g, v) -> {
            MatchResult r = p.match(g, v);
            if (!r.matched()) {
                return r;
            }
            if (g.isNetworkOutput(v)) {
                return MatchResult.refused("'" + v + "' is a network output");
            }
            int n = g.consumers(v).size();
            return n == 1 ? r : MatchResult.refused("'" + v + "' has " + n + " consumers");
        };
    }

    /** {@code p}, whose failures count as refusals (for an operand that is part of what the rule is about). */
    public static ValuePattern required(ValuePattern p) {
        return (g, v) -> p.match(g, v).asRefusal();
    }

    /** {@code p}, whose failures count as non-candidates (for a condition that only selects where the rule applies). */
    public static Pattern candidateIf(Pattern p) {
        return (g, op) -> p.match(g, op).asNoMatch();
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
