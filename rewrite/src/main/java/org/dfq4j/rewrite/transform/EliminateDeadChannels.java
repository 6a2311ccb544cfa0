package org.dfq4j.rewrite.transform;

import java.util.EnumSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import org.dfq4j.rewrite.engine.GraphEditor;
import org.dfq4j.rewrite.engine.RewriteLog;
import org.dfq4j.rewrite.engine.Transform;
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
 * order. Exact except at zero-padded borders (logged). Layers with dead channels whose output does
 * not reach a single next layer through such ops are skipped with the reason.
 *
 * <p>Without this, CLE cannot help a layer with dead channels: their range is zero and the next
 * layer still reads a large constant.
 */
public final class EliminateDeadChannels implements Transform {

    // W2 f(W1 x + b1) + b2 = W2' f(W1 x + b1') + (b2 + W2[:,c] f(b1_c))   when W1[c,:] = 0 (W2' and b1' zero at c)

    private static final Set<PerChannelOp.Kind> ALLOWED = EnumSet.allOf(PerChannelOp.Kind.class);

    @Override
    public void apply(GraphEditor editor, RewriteLog log) {
        GraphView g = editor.view();
        LayerPair.Search search = LayerPair.findAll(g, ALLOWED);
        Map<String, LayerPair> byFirst = new LinkedHashMap<>();
        search.pairs().forEach(p -> byFirst.put(p.first().output(), p));
        LayerEdits edits = new LayerEdits(editor);
        int total = 0;
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
                            List.of(l.output()), Map.of("channels", dead));
                }
                continue;
            }
            total += fold(g, p, zero, edits, editor, log);
        }
        edits.commit();
        log.add(name(), "folded " + total + " dead channels into the next layers", List.of(), Map.of("channels", total));
    }

    /** Folds the dead channels of p's first layer into its second layer; returns how many. */
    private int fold(GraphView g, LayerPair p, boolean[] zero, LayerEdits edits, GraphEditor editor, RewriteLog log) {
        double[] b1 = edits.bias(p.first());
        LayerWeights w2 = edits.weights(p.second());
        int n = zero.length;
        double[] v = new double[n];
        boolean[] dead = new boolean[n];
        int count = 0;
        for (int c = 0; c < n; c++) {
            if (zero[c] && (b1[c] != 0 || !w2.inputIsZero(c))) {
                dead[c] = true;
                v[c] = passThrough(p, edits, c, b1[c]);
                count++;
            }
        }
        if (count == 0) {
            return 0;
        }
        double[] add = w2.contribution(v);
        double[] b2 = edits.bias(p.second());
        for (int o = 0; o < b2.length; o++) {
            b2[o] += add[o];
        }
        ChannelStats st = editor.network().stats().get(p.first().output());
        double[] mean = st == null ? null : st.mean();
        double[] std = st == null ? null : st.std();
        for (int c = 0; c < n; c++) {
            if (dead[c]) {
                w2.zeroInput(c);
                b1[c] = 0;
                if (st != null) {
                    mean[c] = 0;
                    std[c] = 0;
                }
            }
        }
        if (st != null) {
            editor.setStats(p.first().output(), new ChannelStats(mean, std));
        }
        Map<String, Object> values = new LinkedHashMap<>();
        values.put("channels", count);
        values.put("of", n);
        values.put("exact", !p.zeroPaddedBorders());
        log.add(name(), "folded " + count + " dead channels of " + p.describe(g)
                + (p.zeroPaddedBorders() ? " (approximate at zero-padded borders)" : " (exact)"), p.layers(), values);
        return count;
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
