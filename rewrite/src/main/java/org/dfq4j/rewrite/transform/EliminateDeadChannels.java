package org.dfq4j.rewrite.transform;

import java.util.Arrays;
import java.util.EnumSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;
import java.util.stream.IntStream;
import org.dfq4j.rewrite.engine.GraphEditor;
import org.dfq4j.rewrite.engine.RewriteLog;
import org.dfq4j.rewrite.engine.PatternJointRule;
import org.dfq4j.rewrite.engine.Matches;
import org.dfq4j.rewrite.pattern.Pattern;
import org.dfq4j.rewrite.graph.ChannelStats;
import org.dfq4j.rewrite.graph.WeightLayer;
import org.dfq4j.rewrite.view.GraphView;

/**
 * Folds dead channels forward. An output channel of a weight layer whose weights are all zero is the
 * constant b_c; after the per-channel ops to the next weight layer (ReLU: max(b,0); ReLU6: clip(b,0,6);
 * LeakyReLU; per-channel clip; pads and pools pass it) it is a constant v_c, which is added to the
 * next layer's bias (conv: sum of W2[:,:,c,o] over the kernel times v_c; depthwise: only its channel
 * c; dense after global pooling: W2[c,:] v_c). The next layer's weights for that input channel are
 * then zeroed, and so are the dead channel's bias and statistics. A depthwise consumer's channel c
 * becomes dead in turn and is folded into its own consumer, since layers are visited in topological
 * order. Layers with dead channels whose output does not reach a single next layer through such ops
 * are skipped with the reason.
 *
 * <p>Where the next layer pads with zeros (a 3x3 depthwise), a dead channel is not constant at the
 * borders, so folding it would be inexact there. Such a channel is instead rescaled: its constant
 * multiplied by a = min(r_c / median r, 6 / |v_c|) (r: the next layer's per-input weight range) and
 * the next layer's weights for it divided by a, which is exact (the ops between are positively
 * homogeneous below their clip) and still takes its outsized weights out of the next layer's range.
 *
 * <p>Without this, CLE cannot help a layer with dead channels: their range is zero and the next
 * layer still reads a large constant.
 */
public final class EliminateDeadChannels extends PatternJointRule {

    // W2 f(W1 x + b1) + b2 = W2' f(W1 x + b1') + (b2 + W2[:,c] f(b1_c))   when W1[c,:] = 0 (W2' and b1' zero at c)

    private static final Set<PerChannelOp.Kind> ALLOWED = EnumSet.allOf(PerChannelOp.Kind.class);

    private static final Pattern PAIR = LayerPair.pattern(ALLOWED);

    /** The rule. */
    public EliminateDeadChannels() {
        super(PAIR, "not paired");
    }

    @Override
    public void rewrite(Matches matches, GraphEditor editor, RewriteLog log) {
        GraphView g = matches.view();
        LayerPair.Search search = LayerPair.of(matches);
        Map<String, LayerPair> byFirst = new LinkedHashMap<>();
        search.pairs().forEach(p -> byFirst.put(p.first().output(), p));
        LayerEdits edits = new LayerEdits(editor);
        int total = 0;
        int rescaledTotal = 0;
        for (WeightLayer l : g.weightLayers()) {
            boolean[] zero = edits.weights(l).zeroOutputs();
            LayerPair p = byFirst.get(l.output());
            if (p == null) {
                double[] b = edits.bias(l);
                int dead = 0;
                for (int c = 0; c < zero.length; c++) {
                    dead += zero[c] && b[c] != 0 ? 1 : 0;
                }
                if (dead > 0) {
                    log.add(name(), "skipped " + dead + " dead channels: " + search.unpaired().get(l.output()),
                            List.of(l.output()), RewriteLog.values("channels", dead));
                }
                continue;
            }
            int[] done = fold(g, p, zero, edits, editor, log);
            total += done[0];
            rescaledTotal += done[1];
        }
        edits.commit();
        log.add(name(), "folded " + total + " dead channels into the next layers, rescaled " + rescaledTotal
                + " that feed a zero-padding layer", List.of(), RewriteLog.values("channels", total, "rescaled", rescaledTotal));
    }

    /** Folds (or rescales) the dead channels of p's first layer; returns {folded, rescaled}. */
    private int[] fold(GraphView g, LayerPair p, boolean[] zero, LayerEdits edits, GraphEditor editor, RewriteLog log) {
        double[] b1 = edits.bias(p.first());
        LayerWeights w2 = edits.weights(p.second());
        int n = zero.length;
        boolean padded = p.zeroPaddedBorders();
        double[] inMax = w2.inAbsMax();
        double typical = padded ? typicalInputRange(inMax, zero) : 0;
        double[] v = new double[n];
        boolean[] dead = new boolean[n];
        double[] rescale = new double[n];
        Arrays.fill(rescale, 1.0);
        int count = 0;
        int rescaled = 0;
        int kept = 0;
        double largest = 1;
        for (int c = 0; c < n; c++) {
            if (!zero[c] || (b1[c] == 0 && w2.inputIsZero(c))) {
                continue;
            }
            double value = passThrough(p, edits, c, b1[c]);
            if (padded && value != 0) {
                // The next layer pads with zeros, where this channel is not constant: folding it would
                // be wrong at the borders. Exact instead: scale the constant up and the next layer's
                // weights for it down, so that they no longer dominate that layer's weight range.
                double alpha = Math.min(typical > 0 ? inMax[c] / typical : 1, cap(p, edits, c, value));
                if (alpha > 1) {
                    b1[c] *= alpha;
                    rescale[c] = 1 / alpha;
                    rescaled++;
                    largest = Math.max(largest, alpha);
                } else {
                    kept++;
                }
                continue;
            }
            dead[c] = true;
            v[c] = value;
            count++;
        }
        if (kept > 0) {
            log.add(name(), "kept " + kept + " dead channels of " + p.describe(g) + " as they are (the next layer pads "
                    + "with zeros, and its weights for them are not outsized or their constant is at its clip)",
                    p.layers(), RewriteLog.values("kept", kept, "of", n));
        }
        if (count == 0 && rescaled == 0) {
            return new int[] {0, 0};
        }
        if (rescaled > 0) {
            w2.scaleIn(rescale);
        }
        double[] add = w2.contribution(v);
        double[] b2 = edits.bias(p.second());
        for (int o = 0; o < b2.length; o++) {
            b2[o] += add[o];
        }
        ChannelStats st = g.stats(p.first().output());
        double[] mean = st == null ? null : st.mean();
        double[] std = st == null ? null : st.std();
        for (int c = 0; c < n; c++) {
            if (dead[c]) {
                w2.zeroInput(c);
                b1[c] = 0;
            }
            if (st != null) {
                double k = dead[c] ? 0 : 1 / rescale[c];
                mean[c] *= k;
                std[c] *= k;
            }
        }
        if (st != null) {
            editor.setStats(p.first().output(), new ChannelStats(mean, std));
        }
        if (count > 0) {
            Map<String, Object> values = new LinkedHashMap<>();
            values.put("channels", count);
            values.put("of", n);
            values.put("exact", true);
            log.add(name(), "folded " + count + " dead channels of " + p.describe(g)
                    + (padded ? " (exact: their constant is 0, which is also what the zero padding adds)" : " (exact)"),
                    p.layers(), values);
        }
        if (rescaled > 0) {
            Map<String, Object> values = new LinkedHashMap<>();
            values.put("rescaled", rescaled);
            values.put("of", n);
            values.put("maxScale", largest);
            log.add(name(), String.format(Locale.ROOT, "rescaled %d dead channels of %s by up to %.3g "
                    + "(not folded: the next layer pads with zeros, where they are not constant; exact)",
                    rescaled, p.describe(g), largest), p.layers(), values);
        }
        return new int[] {count, rescaled};
    }

    /** Median over live input channels of the next layer's per-input weight range (0 if none). */
    private static double typicalInputRange(double[] inMax, boolean[] zero) {
        double[] live = IntStream.range(0, inMax.length)
                .filter(c -> !zero[c] && inMax[c] > 0).mapToDouble(c -> inMax[c]).sorted().toArray();
        return live.length == 0 ? 0 : live[live.length / 2];
    }

    /**
     * The largest factor the constant {@code value} of channel c may be scaled by and still pass the
     * ops between the layers unchanged (clips), staying within the ReLU6 range the network was
     * trained in (so that it does not widen the activation range either).
     */
    private static double cap(LayerPair p, LayerEdits edits, int c, double value) {
        double cap = 6 / Math.abs(value);
        for (PerChannelOp op : p.between()) {
            if (op.kind() == PerChannelOp.Kind.CLIP) {
                cap = Math.min(cap, edits.vector(op.clipConstant())[c] / Math.abs(value));
            }
        }
        return cap;
    }

    /** The value a constant pre-activation x of channel c has after the ops between the layers. */
    private static double passThrough(LayerPair p, LayerEdits edits, int c, double x) {
        for (PerChannelOp op : p.between()) {
            x = switch (op.kind()) {
                case RELU -> Math.max(x, 0);
                case RELU6 -> Math.min(Math.max(x, 0), 6);
                case LEAKY_RELU -> x > 0 ? x : op.alpha() * x;
                case CLIP -> Math.min(x, edits.vector(op.clipConstant())[c]);
                case ZERO_PAD, AVG_POOL, MAX_POOL, GLOBAL_AVG_POOL, FLATTEN_POOLED -> x;
            };
        }
        return x;
    }
}
