package org.dfq4j.rewrite.transform;

import java.util.EnumSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import org.dfq4j.rewrite.DfqException;
import org.dfq4j.rewrite.engine.GraphEditor;
import org.dfq4j.rewrite.engine.RewriteLog;
import org.dfq4j.rewrite.engine.PatternJointRule;
import org.dfq4j.rewrite.engine.Matches;
import org.dfq4j.rewrite.pattern.Pattern;
import org.dfq4j.rewrite.graph.ChannelStats;
import org.dfq4j.rewrite.view.GraphView;

/**
 * High-bias absorption (METHOD.md section 4). For a pair W1 -> (ReLU | per-channel clip | zero pad |
 * avg/max pool | global avg pool)* -> W2 whose first layer has pre-activation statistics N(beta, gamma^2)
 * (after CLE scaling), c_i = max(0, beta_i - n |gamma_i|) (n = 3 by default) is moved out of the
 * first bias into the second: b1 -= c, b2 += W2 c (a conv sums W2 over its kernel), clip limits
 * t -= c, and the statistics' mean -= c. Exact wherever no pre-activation falls below c. With no
 * ReLU between the layers every op commutes with a shift, so all of beta moves. Approximate at
 * zero-padded borders (a pad op between, or a second layer wider than 1x1 with SAME padding), which
 * the log says. Pairs whose first layer has no statistics (BN-folded source models) are skipped.
 * Recorded ranges of the shifted activations are dropped.
 */
public final class AbsorbHighBias extends PatternJointRule {

    // W2 relu(W1 x + b1) + b2 = W2 relu(W1 x + b1 - c) + (b2 + W2 c)   where W1 x + b1 >= c

    /** Shift-commuting ops: relu(x - c) = relu(x) - c for x >= c; pools and clips commute exactly. */
    private static final Set<PerChannelOp.Kind> ALLOWED = EnumSet.of(PerChannelOp.Kind.RELU, PerChannelOp.Kind.CLIP,
            PerChannelOp.Kind.ZERO_PAD, PerChannelOp.Kind.AVG_POOL, PerChannelOp.Kind.MAX_POOL,
            PerChannelOp.Kind.GLOBAL_AVG_POOL, PerChannelOp.Kind.FLATTEN_POOLED);

    public static final double DEFAULT_SIGMAS = 3;

    /** Shifts this small relative to the statistics are rounding error, not bias. */
    private static final double ROUNDING = 1e-9;

    private final double sigmas;

    public AbsorbHighBias() {
        this(DEFAULT_SIGMAS);
    }

    /** c = max(0, beta - sigmas * |gamma|). */
    public AbsorbHighBias(double sigmas) {
        super(PAIR, "not absorbed");
        if (!(sigmas >= 0)) {
            throw new DfqException("high-bias absorption needs a number of standard deviations >= 0, got " + sigmas);
        }
        this.sigmas = sigmas;
    }

    private static final Pattern PAIR = LayerPair.pattern(ALLOWED);

    @Override
    public void rewrite(Matches matches, GraphEditor editor, RewriteLog log) {
        GraphView g = matches.view();
        LayerPair.Search search = LayerPair.of(matches);
        LayerEdits edits = new LayerEdits(editor);
        int absorbedPairs = 0;
        int skipped = 0;
        int forgotten = 0;
        for (LayerPair p : search.pairs()) {
            ChannelStats st = g.stats(p.first().output());
            if (st == null) {
                log.add(name(), "skipped " + p.describe(g) + ": no pre-activation statistics (source was BN-folded)",
                        p.layers());
                skipped++;
                continue;
            }
            boolean relu = p.has(PerChannelOp.Kind.RELU);
            int n = st.channels();
            double[] c = new double[n];
            int moved = 0;
            double maxC = 0;
            for (int i = 0; i < n; i++) {
                c[i] = relu ? Math.max(0, st.mean(i) - sigmas * Math.abs(st.std(i))) : st.mean(i);
                if (Math.abs(c[i]) <= ROUNDING * (Math.abs(st.mean(i)) + Math.abs(st.std(i)))) {
                    c[i] = 0; // what a previous absorption left behind
                } else {
                    moved++;
                    maxC = Math.max(maxC, Math.abs(c[i]));
                }
            }
            if (moved == 0) {
                continue;
            }
            double[] b1 = edits.bias(p.first());
            double[] b2 = edits.bias(p.second());
            double[] add = edits.weights(p.second()).contribution(c);
            for (int i = 0; i < n; i++) {
                b1[i] -= c[i];
            }
            for (int o = 0; o < b2.length; o++) {
                b2[o] += add[o];
            }
            for (PerChannelOp op : p.between()) {
                if (op.kind() == PerChannelOp.Kind.CLIP) {
                    double[] t = edits.vector(op.clipConstant());
                    for (int i = 0; i < n; i++) {
                        t[i] -= c[i];
                    }
                }
            }
            editor.setStats(p.first().output(), st.shift(c));
            for (String t : p.tensorsBetween(g)) {
                forgotten += editor.forgetRecordedRange(t) ? 1 : 0;
            }
            absorbedPairs++;
            Map<String, Object> v = new LinkedHashMap<>();
            v.put("channels", moved);
            v.put("maxShift", maxC);
            v.put("mode", relu ? "beta - " + sigmas + "|gamma|" : "all of beta (no activation)");
            log.add(name(), "absorbed bias of " + p.describe(g)
                    + (p.zeroPaddedBorders() ? " (approximate at zero-padded borders)" : ""), p.layers(), v);
        }
        edits.commit();
        log.add(name(), "absorbed high biases in " + absorbedPairs + " of " + search.pairs().size() + " pairs", List.of(),
                RewriteLog.values("pairs", absorbedPairs, "skippedWithoutStats", skipped, "droppedRecordedRanges", forgotten));
    }
}
