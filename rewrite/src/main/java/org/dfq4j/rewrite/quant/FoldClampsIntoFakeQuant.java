package org.dfq4j.rewrite.quant;

import static org.dfq4j.rewrite.pattern.Patterns.anyOf;
import static org.dfq4j.rewrite.pattern.Patterns.capture;
import static org.dfq4j.rewrite.pattern.Patterns.op;
import static org.dfq4j.rewrite.pattern.Patterns.operand;
import static org.dfq4j.rewrite.pattern.Patterns.producedBy;
import static org.dfq4j.rewrite.pattern.Patterns.soleUse;
import static org.dfq4j.rewrite.pattern.Patterns.where;

import java.util.EnumSet;
import java.util.List;
import java.util.Locale;
import org.dfq4j.rewrite.engine.GraphEditor;
import org.dfq4j.rewrite.engine.RewriteLog;
import org.dfq4j.rewrite.engine.PatternRule;
import org.dfq4j.rewrite.graph.OpKind;
import org.dfq4j.rewrite.pattern.Capture;
import org.dfq4j.rewrite.pattern.Match;
import org.dfq4j.rewrite.pattern.Pattern;
import org.dfq4j.rewrite.transform.PerChannelOp;
import org.dfq4j.rewrite.view.GraphView;

/**
 * Removes clamps that the fake-quant right after them already performs. A fake-quant with range
 * [lo, hi] clamps its input to [lo, hi], so
 *
 * <pre>{@code
 *   fq(relu(x))       = fq(x)   when lo >= 0
 *   fq(relu6(x))      = fq(x)   when lo >= 0 and hi <= 6
 *   fq(min(x, t_c))   = fq(x)   when hi <= min_c t_c   (the per-channel clip CLE keeps for ReLU6)
 *   fq(min(relu(x), t_c)) = fq(min(x, t_c))   when lo >= 0 and t >= 0
 * }</pre>
 *
 * Exact, and it saves a full pass over each activation: the 8-bit simulation then costs little
 * more than the float network. Only clamps whose sole consumer is the fake-quant are removed. A
 * rule of the fixpoint driver, anchored at the fake-quant; a clamp the range does not cover is
 * refused with the range.
 */
public final class FoldClampsIntoFakeQuant extends PatternRule {

    // fq(clamp(x)) = fq(x) where the fake-quant's range lies inside the clamp's

    /** The clamp a fake-quant performs anyway. */
    public static final Capture<PerChannelOp> CLAMP = Capture.of("clamp", PerChannelOp.class);
    /** The relu under a per-channel clip that a non-negative fake-quant range makes redundant. */
    public static final Capture<PerChannelOp> INNER_RELU = Capture.of("innerRelu", PerChannelOp.class);

    private static final Pattern FAKE_QUANT = op(OpKind.FAKE_QUANT);

    private static final Pattern CLAMP_OP = capture(CLAMP, PerChannelOp.pattern(
            EnumSet.of(PerChannelOp.Kind.RELU, PerChannelOp.Kind.RELU6, PerChannelOp.Kind.CLIP)));

    private static final Pattern CLIP_OP = capture(CLAMP, PerChannelOp.pattern(EnumSet.of(PerChannelOp.Kind.CLIP)));

    private static final Pattern RELU_OP = capture(INNER_RELU, PerChannelOp.pattern(EnumSet.of(PerChannelOp.Kind.RELU)));

    private static final Pattern REDUNDANT_CLAMP = where(operand(FAKE_QUANT, 0, soleUse(producedBy(CLAMP_OP))),
            FoldClampsIntoFakeQuant::redundant, "the fake-quant's range does not lie inside the clamp's");

    private static final Pattern RELU_UNDER_CLIP = where(operand(FAKE_QUANT, 0, soleUse(producedBy(
            operand(CLIP_OP, 0, soleUse(producedBy(RELU_OP)))))),
            FoldClampsIntoFakeQuant::nonNegative, "the fake-quant's range or the clip goes below 0");

    private static final Pattern PATTERN = anyOf(REDUNDANT_CLAMP, RELU_UNDER_CLIP);

    /** The rule. */
    public FoldClampsIntoFakeQuant() {
        super(PATTERN, "clamp kept");
    }

    @Override
    public void rewrite(Match match, GraphEditor editor, RewriteLog log) {
        GraphView g = editor.view();
        double lo = lo(g, match);
        double hi = hi(g, match);
        if (match.has(INNER_RELU)) {
            PerChannelOp relu = match.get(INNER_RELU);
            String out = g.output(relu.op());
            editor.bypass(relu.op());
            log.add(name(), "removed relu under a non-negative clip", List.of(out),
                    RewriteLog.values("kind", kindOf(relu), "lo", lo, "hi", hi));
            return;
        }
        PerChannelOp clamp = match.get(CLAMP);
        String out = g.output(clamp.op());
        editor.bypass(clamp.op());
        String kind = kindOf(clamp);
        log.add(name(), "removed " + kind + " (the fake-quant clamps to its range)", List.of(out),
                RewriteLog.values("kind", kind, "lo", lo, "hi", hi));
    }

    @Override
    public String summary(int rewrites, List<RewriteLog.Entry> logged) {
        return "removed clamps the next fake-quant performs: " + removed(logged, PerChannelOp.Kind.RELU) + " relu, "
                + removed(logged, PerChannelOp.Kind.RELU6) + " relu6, " + removed(logged, PerChannelOp.Kind.CLIP)
                + " per-channel clips";
    }

    private static long removed(List<RewriteLog.Entry> logged, PerChannelOp.Kind kind) {
        return logged.stream().filter(e -> kindOf(kind).equals(e.values().get("kind"))).count();
    }

    /** How the log names a clamp's kind: "relu", "relu6" or "clip". */
    private static String kindOf(PerChannelOp p) {
        return kindOf(p.kind());
    }

    private static String kindOf(PerChannelOp.Kind k) {
        return k.name().toLowerCase(Locale.ROOT);
    }

    private static boolean redundant(GraphView g, Match m) {
        double lo = lo(g, m);
        double hi = hi(g, m);
        PerChannelOp p = m.get(CLAMP);
        return switch (p.kind()) {
            case RELU -> lo >= 0;
            case RELU6 -> lo >= 0 && hi <= 6;
            case CLIP -> hi <= g.constant(p.clipConstant()).minNumber().doubleValue();
            default -> false;
        };
    }

    private static boolean nonNegative(GraphView g, Match m) {
        return lo(g, m) >= 0 && g.constant(m.get(CLAMP).clipConstant()).minNumber().doubleValue() >= 0;
    }

    private static double lo(GraphView g, Match m) {
        return g.constant(g.inputs(m.anchor()).get(1)).getDouble(0);
    }

    private static double hi(GraphView g, Match m) {
        return g.constant(g.inputs(m.anchor()).get(2)).getDouble(0);
    }
}
