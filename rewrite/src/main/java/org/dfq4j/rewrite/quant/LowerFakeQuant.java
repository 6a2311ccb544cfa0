package org.dfq4j.rewrite.quant;

import static org.dfq4j.rewrite.pattern.Patterns.anyOf;
import static org.dfq4j.rewrite.pattern.Patterns.capture;
import static org.dfq4j.rewrite.pattern.Patterns.constant;
import static org.dfq4j.rewrite.pattern.Patterns.named;
import static org.dfq4j.rewrite.pattern.Patterns.op;
import static org.dfq4j.rewrite.pattern.Patterns.operand;
import static org.dfq4j.rewrite.pattern.Patterns.operands;
import static org.dfq4j.rewrite.pattern.Patterns.producedBy;
import static org.dfq4j.rewrite.pattern.Patterns.required;
import static org.dfq4j.rewrite.pattern.Patterns.soleUse;
import static org.dfq4j.rewrite.pattern.Patterns.weightLayer;
import static org.dfq4j.rewrite.pattern.Patterns.where;

import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import org.dfq4j.rewrite.engine.GraphEditor;
import org.dfq4j.rewrite.engine.PatternJointRule;
import org.dfq4j.rewrite.engine.Matches;
import org.dfq4j.rewrite.engine.RewriteDriver;
import org.dfq4j.rewrite.engine.RewriteLog;
import org.dfq4j.rewrite.engine.Rewritten;
import org.dfq4j.rewrite.graph.Network;
import org.dfq4j.rewrite.graph.OpKind;
import org.dfq4j.rewrite.graph.WeightLayer;
import org.dfq4j.rewrite.pattern.Capture;
import org.dfq4j.rewrite.pattern.Match;
import org.dfq4j.rewrite.pattern.Pattern;
import org.dfq4j.rewrite.view.GraphView;
import org.nd4j.autodiff.samediff.SDVariable;
import org.nd4j.autodiff.samediff.SameDiff;
import org.nd4j.linalg.api.ops.impl.scalar.Relu6;
import org.nd4j.linalg.api.ops.impl.scalar.ScalarAdd;
import org.nd4j.linalg.api.ops.impl.scalar.ScalarMax;
import org.nd4j.linalg.api.ops.impl.scalar.ScalarMin;
import org.nd4j.linalg.api.ops.impl.scalar.ScalarSubtraction;

/**
 * Lowers a fake-quant network for execution: the same arithmetic in fewer passes over memory.
 *
 * <p>A fake-quant op computes s * round(clamp(x, lo, hi) / s) in one pass, but ND4J's kernel for it
 * costs about fifteen simple in-place elementwise passes (measured on a [8,56,56,144] tensor, one
 * thread: 11.8 ms against 0.3-0.8 ms for a scalar add, max or min). Where the quantized tensor is a
 * weight layer's output (possibly through a clip by a constant, min(x, t)) read only by the
 * fake-quant, the scale moves into the weights instead: the layer computes x * u / s (weights, bias
 * and t scaled; u = +-2^-21, see below), the fake-quant becomes a rounding to the levels [-z, q - z]
 * (the tensor now holds level * u), the weight layers that read it have their weights multiplied by
 * s / u, and any other reader (an add, a pool, the network output) reads the tensor times s / u. A
 * negative u turns the clip min(x, t) into max(x, t) (both sides are multiplied by u). Every other
 * fake-quant (the input's, the sums') becomes x / (s / u), the same rounding, times s / u.
 * Mathematically identical; in float arithmetic a value within rounding error of a level boundary
 * can land on the neighbouring level, and ties round to even where the fake-quant rounds them up.
 *
 * <p>The rounding is three scalar ops ({@link #roundToLevels(SDVariable, int, int, double)}): add a
 * constant M near 6, where float32 values are u apart, so that the addition itself rounds to the
 * level; a relu6 with a cutoff, one pass that clamps to the sums for the two bounds; subtract M.
 * Scaling by a power of two is exact, so the values are those of the four-op rounding the rule used
 * before (the tensor holding the levels, rint by adding 1.5 * 2^23, a max, a min, a subtraction) times
 * u, bit for bit. Standard SameDiff ops, so the lowered network saves and loads, each one vectorized
 * pass that a planned pass runs in place. libnd4j's rint (not vectorized) took 3x the time of a
 * scalar op in MobileNetV2, and its legacy clip-by-value transform, which takes its bounds as extra
 * parameters, 10x.
 *
 * <p>A joint rule anchored at the fake-quants: one whose range is empty is refused with the reason
 * and kept as it is.
 */
public final class LowerFakeQuant extends PatternJointRule {

    // s * rint(clamp(W x + b, lo, hi) / s) = s * clip(rint((W/s) x + b/s), lo/s, hi/s), and W2 (s q) = (s W2) q

    private final boolean fourOps;

    /** The rule. */
    public LowerFakeQuant() {
        this(false);
    }

    private LowerFakeQuant(boolean fourOps) {
        super(PATTERN, "fake-quant kept");
        this.fourOps = fourOps;
    }

    /**
     * A lowered copy: how many fake-quants had their scales folded into the weights, how many became
     * scalar ops (those and the others, all but any with an empty range), of how many.
     */
    public record Lowered(Network network, int lowered, int rounded, int total, RewriteLog log) {

        /** One line for reports. */
        public String describe() {
            return "lowered " + rounded + " of " + total + " fake-quants to rounding by scalar ops, " + lowered
                    + " with their scales folded into the weights";
        }
    }

    /** 1.5 * 2^23: for |x| <= 2^22, float32 x + M is M + rint(x), exactly. */
    private static final double MAGIC = 12582912.0;

    /** 2^-21, the spacing of float32 values in [4, 8): the unit a lowered tensor holds levels in. */
    static final double STEP = 0x1p-21;

    /** The layer whose output a lowered fake-quant quantizes (when its scale folds into the layer). */
    public static final Capture<WeightLayer> LAYER = Capture.of("layer", WeightLayer.class);

    private static final Pattern FAKE_QUANT = named("fq", op(OpKind.FAKE_QUANT));

    /** fq(layer(x)): the layer owns its constants and the fake-quant is the only reader. */
    private static final Pattern DIRECT = operand(FAKE_QUANT, 0,
            required(soleUse(producedBy(capture(LAYER, weightLayer())))));

    /** fq(min(layer(x), t)): through the per-channel clip equalization keeps for ReLU6; t is divided by s too. */
    private static final Pattern VIA_CLIP = operand(FAKE_QUANT, 0, required(soleUse(producedBy(
            operands(named("clip", op(OpKind.MINIMUM)), soleUse(producedBy(capture(LAYER, weightLayer()))),
                    soleUse(constant()))))));

    /** Any other fake-quant: lowered as x / s rounded, times s. */
    private static final Pattern PATTERN = where(anyOf(DIRECT, VIA_CLIP, FAKE_QUANT),
            (g, m) -> ActivationQuantizer.of(g, m.op("fq")).scale() > 0, "its range is empty");

    /** A lowered copy of {@code net} (the network itself is not changed), checked by the driver. */
    public static Lowered of(Network net) {
        return lower(net, new LowerFakeQuant());
    }

    /**
     * As {@link #of}, with every rounding in the four scalar ops and the lowered tensors holding the
     * levels themselves (how this rule lowered before the three-op rounding): the reference the
     * three-op form must equal bit for bit.
     */
    static Lowered withFourOpRounding(Network net) {
        return lower(net, new LowerFakeQuant(true));
    }

    private static Lowered lower(Network net, LowerFakeQuant rule) {
        Rewritten r = RewriteDriver.once(rule).run(net);
        RewriteLog.Entry summary = r.log().entries(LowerFakeQuant.class.getSimpleName()).stream()
                .filter(e -> e.targets().isEmpty()).reduce((a, b) -> b).orElseThrow();
        return new Lowered(r.network(), (int) summary.number("lowered"), (int) summary.number("rounded"),
                (int) summary.number("total"), r.log());
    }

    @Override
    public void rewrite(Matches matches, GraphEditor editor, RewriteLog log) {
        GraphView g = matches.view();
        Map<String, Double> outScale = new HashMap<>();
        Map<String, Double> inScale = new HashMap<>();
        Map<String, Lowering> clipOf = new HashMap<>();
        List<Lowering> clips = new ArrayList<>();
        int total = (int) g.ops().stream().filter(op -> g.kind(op) == OpKind.FAKE_QUANT).count();
        List<Lowering> rest = new ArrayList<>();
        for (Match m : matches.list()) {
            String fq = m.op("fq");
            ActivationQuantizer q = ActivationQuantizer.of(g, fq);
            double unit = fourOps ? 1 : unit(q.lowLevel(), q.highLevel());
            if (!m.has(LAYER)) {
                rest.add(new Lowering(fq, g.output(fq), q, unit, List.of(), false));
                continue;
            }
            WeightLayer p = m.get(LAYER);
            String clip = m.namedOps().containsKey("clip") ? m.op("clip") : null;
            String y = g.output(fq);
            List<WeightLayer> readers = new ArrayList<>();
            List<String> others = new ArrayList<>();
            for (String c : g.consumers(y)) {
                WeightLayer l = g.weightLayer(c);
                if (l != null && l.input().equals(y) && !l.weights().equals(y) && !l.bias().equals(y)
                        && ownsConstants(g, l)) {
                    readers.add(l);
                } else if (!others.contains(c)) {
                    others.add(c);
                }
            }
            // the tensor holds level * unit: the layer computes x * unit / s, its readers multiply by s / unit
            double perUnit = q.scale() / unit;
            Lowering lowering = new Lowering(fq, y, q, unit, others, g.isNetworkOutput(y));
            outScale.put(p.op(), perUnit);
            if (clip != null) {
                clipOf.put(clip, lowering);
            }
            for (WeightLayer l : readers) {
                inScale.put(l.op(), perUnit);
            }
            clips.add(lowering);
        }
        for (WeightLayer l : g.weightLayers()) {
            double si = inScale.getOrDefault(l.op(), 1.0);
            double so = outScale.getOrDefault(l.op(), 1.0);
            if (si != 1.0 || so != 1.0) {
                editor.setConstant(l.weights(), g.constant(l.weights()).muli(si / so));
                editor.setConstant(l.bias(), g.constant(l.bias()).divi(so));
            }
        }
        clipOf.forEach((clip, c) -> {
            String t = g.inputs(clip).get(1);
            editor.setConstant(t, g.constant(t).divi(c.q.scale() / c.unit));
            if (c.unit < 0) {
                // min(x, t) * unit = max(x * unit, t * unit) for a negative unit
                editor.replaceOp(clip, x -> x.getSameDiff().math().max(x, x.getSameDiff().getVariable(t)));
            }
        });
        for (Lowering c : clips) {
            editor.replaceOp(c.fq, x -> roundToLevels(x, c.q.lowLevel(), c.q.highLevel(), c.unit));
            if (!c.others.isEmpty() || c.output) {
                // consumers that are not weight layers (an add, a pool) and the network output read
                // the real values: levels times s
                editor.insertAfterFor(c.y, c.others, c.output, v -> v.mul(c.q.scale() / c.unit));
            }
            log.add(name(), "lowered to rounding [" + c.q.lowLevel() + ", " + c.q.highLevel() + "] in units of "
                    + c.unit, List.of(c.y), RewriteLog.values("scale", c.q.scale()));
        }
        // the other fake-quants (the input's, the sums'): x / s rounded to the levels, times s
        for (Lowering c : rest) {
            double perUnit = c.q.scale() / c.unit;
            editor.replaceOp(c.fq,
                    x -> roundToLevels(x.div(perUnit), c.q.lowLevel(), c.q.highLevel(), c.unit).mul(perUnit));
            log.add(name(), "lowered to x / s, rounding [" + c.q.lowLevel() + ", " + c.q.highLevel() + "], times s",
                    List.of(c.y), RewriteLog.values("scale", c.q.scale()));
        }
        log.add(name(), "lowered " + (clips.size() + rest.size()) + " of " + total + " fake-quants to rounding by "
                        + "scalar ops, " + clips.size() + " with their scales folded into the weights", List.of(),
                RewriteLog.values("lowered", clips.size(), "rounded", clips.size() + rest.size(), "total", total));
    }

    /** Whether the layer's weights and bias are constants no other op reads (so they may be rescaled). */
    private static boolean ownsConstants(GraphView g, WeightLayer l) {
        return g.isConstant(l.weights()) && g.isConstant(l.bias()) && g.fanOut(l.weights()) == 1
                && g.fanOut(l.bias()) == 1;
    }

    /** One fake-quant to lower: its output, quantizer, the consumers that need real values. */
    private record Lowering(String fq, String y, ActivationQuantizer q, double unit, List<String> others,
                            boolean output) {
    }

    /**
     * The value a lowered tensor holds for level 1: +-2^-21, the spacing of float32 values in [4, 8),
     * signed so that {@link #roundToLevels} rounds ties to even levels as rint does; 1 (the four-op
     * rounding) for a level range that does not allow that (both bounds odd, or wider than 2^20).
     */
    static double unit(int lo, int hi) {
        if ((long) hi - lo > 1 << 20) {
            return 1;
        }
        return hi % 2 == 0 ? STEP : lo % 2 == 0 ? -STEP : 1;
    }

    /**
     * unit * clip(rint(x / unit), lo, hi) for integer bounds and a unit from {@link #unit}: in three
     * scalar ops for a unit of +-2^-21, four for a unit of 1.
     *
     * <p>Identity for unit = +-2^-21: let top be the bound at which unit * level is largest and
     * M = 6 - unit * top (a float in [4, 8), where float32 values are 2^-21 apart). For float32 x,
     * x + M rounds to M + unit * rint(x / unit) wherever that lies in [4, 8), which holds for every
     * level in [lo, hi]; the float significand of M + unit * level has the parity of the level (M's
     * parity is top's, and top is even), so ties go to the even level as rint's do. relu6 with cutoff
     * c = 6 - 2^-21 (hi - lo) clamps to [c, 6], which are the sums for the two bounds (rounding is
     * monotone, so a sum beyond them, of x outside the range, clamps to the bound too), and
     * subtracting M is exact (both lie in [4, 8)). Scaling by the power of two unit is exact as well,
     * so the values are those of {@code roundToLevels(x / unit, lo, hi)} times unit, bit for bit.
     */
    static SDVariable roundToLevels(SDVariable x, int lo, int hi, double unit) {
        if (unit == 1) {
            return roundToLevels(x, lo, hi);
        }
        SameDiff sd = x.getSameDiff();
        double top = unit > 0 ? hi : lo;
        double magic = 6 - unit * top;
        double cutoff = 6 - Math.abs(unit) * ((double) hi - lo);
        SDVariable shifted = new ScalarAdd(sd, x, magic).outputVariable();
        SDVariable clamped = new Relu6(sd, shifted, cutoff).outputVariable();
        return new ScalarSubtraction(sd, clamped, magic).outputVariable();
    }

    /**
     * clip(rint(x), lo, hi) for integer bounds, as four scalar ops: x + M clamped to [lo + M, hi + M],
     * minus M. Identity: for float32 x with |x| <= 2^22 the sum x + M rounds to M + rint(x) (ties to
     * even), so the clamp acts on the rounded levels, and subtracting M is exact; a larger |x| is
     * clamped to lo or hi either way.
     */
    static SDVariable roundToLevels(SDVariable x, double lo, double hi) {
        SameDiff sd = x.getSameDiff();
        SDVariable shifted = new ScalarAdd(sd, x, MAGIC).outputVariable();
        SDVariable atLeast = new ScalarMax(sd, shifted, lo + MAGIC).outputVariable();
        SDVariable atMost = new ScalarMin(sd, atLeast, hi + MAGIC).outputVariable();
        return new ScalarSubtraction(sd, atMost, MAGIC).outputVariable();
    }
}
