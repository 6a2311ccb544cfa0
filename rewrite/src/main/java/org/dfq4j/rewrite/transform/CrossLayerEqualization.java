package org.dfq4j.rewrite.transform;

import static org.dfq4j.rewrite.pattern.Patterns.candidateIf;
import static org.dfq4j.rewrite.pattern.Patterns.filter;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.EnumSet;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import org.dfq4j.rewrite.DfqException;
import org.dfq4j.rewrite.engine.GraphEditor;
import org.dfq4j.rewrite.engine.PatternJointRule;
import org.dfq4j.rewrite.engine.Matches;
import org.dfq4j.rewrite.engine.RewriteDriver;
import org.dfq4j.rewrite.engine.RewriteLog;
import org.dfq4j.rewrite.pattern.Pattern;
import org.dfq4j.rewrite.graph.ChannelStats;
import org.dfq4j.rewrite.graph.WeightLayer;
import org.dfq4j.rewrite.view.GraphView;
import org.nd4j.autodiff.samediff.SDVariable;
import org.nd4j.autodiff.samediff.SameDiff;
import org.nd4j.linalg.factory.Nd4j;

/**
 * Cross-layer equalization (METHOD.md section 2). For every pair W1 -> (ReLU | LeakyReLU | per-channel
 * clip | zero pad | avg/max pool | global avg pool)* -> W2 joined by single consumers, output channel i
 * of W1 is divided by s_i and input channel i of W2 multiplied by s_i, with
 * s_i = sqrt(r1_i / r2_i) and r = max|w| over the channel; afterwards both ranges are sqrt(r1_i r2_i).
 * A depthwise conv between two convs is the second layer of one pair and the first of the next, so it
 * is scaled on both sides. Pairs that share a layer form a group; each group is swept repeatedly
 * until max |log s| over the sweep falls below a threshold or an iteration cap is reached. Channels with a zero range on either side keep s = 1.
 *
 * <p>ReLU6 stops a chain, unless {@code keepRelu6}: then each ReLU6 between two layers of a pair
 * becomes ReLU followed by a per-channel clip min(x, t) with t = 6, and t_i is divided by s_i whenever
 * channel i is scaled (white paper: min(max(x, 0), 6 / s_i)), which keeps FP32 outputs unchanged.
 * The first layer's pre-activation statistics are divided by s; recorded ranges of the rescaled
 * activations are dropped (and the drop logged), since a per-tensor range does not follow a
 * per-channel scale.
 *
 * <p>Residual streams ({@link ResidualStream}, e.g. MobileNetV2's projection convs and the expansion
 * convs that read their sums) are equalized too, with one scale per channel shared by every layer
 * writing into and reading from the stream, swept together with the pairs to convergence.
 *
 * <p>A strength beta in (0, 1] stops short of full equalization: once converged, every pair's (and
 * stream's) accumulated per-channel scale S_i is replaced by S_i^beta (beta = 1: the paper). Any
 * positive scale keeps FP32 unchanged; a partial one trades weight ranges for activation ranges, since
 * scaling a channel's weights by 1/S_i scales its activations too, and per-tensor activation
 * quantization pays for the unequal channels full equalization leaves behind.
 */
public final class CrossLayerEqualization extends PatternJointRule {

    // W2 f(W1 x + b1) = (W2 S) f(S^-1 W1 x + S^-1 b1) for f(s x) = s f(x), s > 0 (ReLU, LeakyReLU, pooling, zero pad)

    public static final double DEFAULT_THRESHOLD = 1e-4;
    public static final int DEFAULT_MAX_ITERATIONS = 500;
    /** Convergence threshold on max |log s| of the joint sweeps of residual streams and pairs. */
    public static final double STREAM_THRESHOLD = 1e-2;

    private final boolean keepRelu6;
    private final double threshold;
    private final int maxIterations;
    private final boolean residual;
    private final double strength;

    /** ReLU6 stops pairs; threshold 1e-4 on max |log s|, at most 500 sweeps. */
    public CrossLayerEqualization() {
        this(false, DEFAULT_THRESHOLD, DEFAULT_MAX_ITERATIONS);
    }

    /** Residual streams equalized too. */
    public CrossLayerEqualization(boolean keepRelu6, double threshold, int maxIterations) {
        this(keepRelu6, threshold, maxIterations, true);
    }

    /**
     * @param residual also equalize residual streams ({@link ResidualStream}): one scale per channel shared
     *                 by every layer writing into and reading from the stream
     */
    public CrossLayerEqualization(boolean keepRelu6, double threshold, int maxIterations, boolean residual) {
        this(keepRelu6, threshold, maxIterations, residual, 1);
    }

    /**
     * @param strength beta in (0, 1]: each channel's converged scale S_i becomes S_i^beta (1: full equalization)
     */
    public CrossLayerEqualization(boolean keepRelu6, double threshold, int maxIterations, boolean residual,
                                  double strength) {
        super(PAIR, "not equalized");
        if (!(strength > 0 && strength <= 1)) {
            throw new DfqException("equalization strength must be in (0, 1], got " + strength);
        }
        this.residual = residual;
        this.strength = strength;
        if (!(threshold > 0) || maxIterations < 1) {
            throw new DfqException("cross-layer equalization needs a threshold > 0 and at least 1 iteration, got "
                    + "threshold " + threshold + " and " + maxIterations + " iterations");
        }
        this.keepRelu6 = keepRelu6;
        this.threshold = threshold;
        this.maxIterations = maxIterations;
    }

    /** Default threshold and cap, ReLU6 kept as a per-channel clip. */
    public static CrossLayerEqualization keepingRelu6() {
        return new CrossLayerEqualization(true, DEFAULT_THRESHOLD, DEFAULT_MAX_ITERATIONS);
    }

    /** Layer pairs through ops that commute with a positive per-channel scale. */
    private static final Pattern PAIR = LayerPair.pattern(PerChannelOp.SCALE_COMMUTING);

    /** With {@code keepRelu6}, first {@link KeepRelu6AsClip}; then the pairs, equalized jointly. */
    @Override
    public void apply(GraphEditor editor, RewriteLog log) {
        if (keepRelu6) {
            new KeepRelu6AsClip().apply(editor, log);
        }
        RewriteDriver.once(this).apply(editor, log);
    }

    /** Equalizes every pair; pairs that share a layer are swept together to convergence. */
    @Override
    public void rewrite(Matches matches, GraphEditor editor, RewriteLog log) {
        GraphView g = matches.view();
        List<LayerPair> pairs = LayerPair.of(matches).pairs();
        ResidualStream.Search search = residual ? ResidualStream.findAll(g)
                : new ResidualStream.Search(List.of(), Map.of());
        List<ResidualStream> streams = search.streams();
        search.refused().forEach((t, why) -> log.add(name(), "residual stream not equalized: " + why, List.of(t)));
        if (pairs.isEmpty() && streams.isEmpty()) {
            log.add(name(), "no layer pairs to equalize");
            return;
        }
        LayerEdits edits = new LayerEdits(editor);
        List<double[]> total = new ArrayList<>();
        List<double[]> spreadBefore = new ArrayList<>();
        for (LayerPair p : pairs) {
            double[] ones = new double[edits.weights(p.first()).outChannels()];
            Arrays.fill(ones, 1);
            total.add(ones);
            spreadBefore.add(new double[] {spread(edits.weights(p.first()).outAbsMax()),
                    spread(edits.weights(p.second()).inAbsMax())});
        }
        int iterations = 0;
        int unconverged = 0;
        double worst = 0;
        for (List<Integer> component : components(pairs)) {
            int it = 0;
            double maxLog = Double.POSITIVE_INFINITY;
            while (it < maxIterations && maxLog >= threshold) {
                maxLog = 0;
                for (int k : component) {
                    maxLog = Math.max(maxLog, equalize(pairs.get(k), edits, total.get(k)));
                }
                it++;
            }
            iterations = Math.max(iterations, it);
            if (!streams.isEmpty()) {
                continue; // converged together with the streams below
            }
            unconverged += maxLog < threshold ? 0 : 1;
            worst = Math.max(worst, maxLog);
            if (component.size() > 1) {
                List<String> chain = new ArrayList<>();
                for (int k : component) {
                    for (String layer : pairs.get(k).layers()) {
                        if (!chain.contains(layer)) {
                            chain.add(layer);
                        }
                    }
                }
                log.add(name(), (component.size() == 2 ? "triplet" : "chain of " + chain.size() + " layers")
                        + " equalized jointly: " + String.join(" -> ", chain), chain,
                        RewriteLog.values("pairs", component.size(), "iterations", it));
            }
        }
        List<double[]> streamTotal = new ArrayList<>();
        for (ResidualStream st : streams) {
            double[] ones = new double[edits.weights(st.writers().get(0)).outChannels()];
            Arrays.fill(ones, 1);
            streamTotal.add(ones);
        }
        if (!streams.isEmpty()) {
            // the streams and every pair swept together: a stream's writers and readers belong to pairs too
            // streams couple the pairs of many blocks and settle slowly: 1% is far below what quantization sees
            double joint = Math.max(threshold, STREAM_THRESHOLD);
            int it = 0;
            double maxLog = Double.POSITIVE_INFINITY;
            while (it < maxIterations && maxLog >= joint) {
                maxLog = 0;
                for (int k = 0; k < streams.size(); k++) {
                    maxLog = Math.max(maxLog, equalize(streams.get(k), edits, streamTotal.get(k)));
                }
                for (int k = 0; k < pairs.size(); k++) {
                    maxLog = Math.max(maxLog, equalize(pairs.get(k), edits, total.get(k)));
                }
                it++;
            }
            iterations = Math.max(iterations, it);
            unconverged += maxLog < joint ? 0 : 1;
            worst = Math.max(worst, maxLog);
        }
        if (strength != 1) {
            // S_i -> S_i^beta: scale each pair's and stream's channels once more by S_i^(beta - 1)
            for (int k = 0; k < pairs.size(); k++) {
                scale(pairs.get(k), edits, partial(total.get(k)), total.get(k));
            }
            for (int k = 0; k < streams.size(); k++) {
                scale(streams.get(k), edits, partial(streamTotal.get(k)), streamTotal.get(k));
            }
        }
        for (int k = 0; k < streams.size(); k++) {
            ResidualStream st = streams.get(k);
            double[] t = streamTotal.get(k);
            logStream(log, st, edits, t);
            for (WeightLayer w : st.writers()) {
                ChannelStats stats = g.stats(w.output());
                if (stats != null) {
                    editor.setStats(w.output(), stats.divide(t));
                }
            }
        }
        for (int k = 0; k < pairs.size(); k++) {
            logPair(g, log, pairs.get(k), edits, total.get(k), spreadBefore.get(k));
            String out = pairs.get(k).first().output();
            ChannelStats st = g.stats(out);
            if (st != null) {
                editor.setStats(out, st.divide(total.get(k)));
            }
        }
        edits.commit();
        int forgotten = 0;
        for (LayerPair p : pairs) {
            for (String t : p.tensorsBetween(g)) {
                forgotten += editor.forgetRecordedRange(t) ? 1 : 0;
            }
        }
        for (ResidualStream st : streams) {
            for (String t : st.tensors()) {
                forgotten += editor.forgetRecordedRange(t) ? 1 : 0;
            }
        }
        if (forgotten > 0) {
            log.add(name(), "dropped the recorded ranges of " + forgotten
                    + " rescaled activations (no longer valid; use statistics or calibration)", List.of(),
                    RewriteLog.values("tensors", forgotten));
        }
        Map<String, Object> v = new LinkedHashMap<>();
        v.put("pairs", pairs.size());
        v.put("residualStreams", streams.size());
        v.put("maxIterations", iterations);
        v.put("converged", unconverged == 0);
        v.put("maxAbsLogScale", worst);
        v.put("threshold", threshold);
        v.put("strength", strength);
        v.put("range", "max|w| per channel");
        log.add(name(), "equalized " + pairs.size() + " layer pairs", List.of(), v);
    }

    /**
     * Groups pairs that share a layer (a depthwise conv between two convs, a chain of several layers):
     * each group is swept to its own convergence, in topological order within the group.
     */
    private static List<List<Integer>> components(List<LayerPair> pairs) {
        Map<String, Integer> group = new LinkedHashMap<>();
        int[] parent = new int[pairs.size()];
        for (int k = 0; k < pairs.size(); k++) {
            parent[k] = k;
            for (String layer : List.of(pairs.get(k).first().op(), pairs.get(k).second().op())) {
                Integer other = group.putIfAbsent(layer, k);
                if (other != null) {
                    parent[root(parent, k)] = root(parent, other);
                }
            }
        }
        Map<Integer, List<Integer>> byRoot = new LinkedHashMap<>();
        for (int k = 0; k < pairs.size(); k++) {
            byRoot.computeIfAbsent(root(parent, k), r -> new ArrayList<>()).add(k);
        }
        return new ArrayList<>(byRoot.values());
    }

    private static int root(int[] parent, int k) {
        while (parent[k] != k) {
            k = parent[k];
        }
        return k;
    }

    private double[] partial(double[] total) {
        double[] s = new double[total.length];
        for (int i = 0; i < s.length; i++) {
            s[i] = Math.pow(total[i], strength - 1);
        }
        return s;
    }

    /** One equalization step of a pair; returns max |log s_i|. */
    private static double equalize(LayerPair p, LayerEdits edits, double[] total) {
        LayerWeights w1 = edits.weights(p.first());
        LayerWeights w2 = edits.weights(p.second());
        double[] r1 = w1.outAbsMax();
        double[] r2 = w2.inAbsMax();
        int n = r1.length;
        double[] s = new double[n];
        double maxLog = 0;
        for (int i = 0; i < n; i++) {
            if (!Double.isFinite(r1[i]) || !Double.isFinite(r2[i])) {
                throw new DfqException("cannot equalize '" + p.first().output() + "' -> '" + p.second().output()
                        + "': channel " + i + " has weight range " + r1[i] + " and " + r2[i]
                        + "; its weights are not finite");
            }
            // s_i = sqrt(r1 / r2): a channel with a zero range on either side has nothing to balance, s_i = 1;
            // a ratio beyond double range (a range near the smallest float) is left as it is too
            s[i] = r1[i] > 0 && r2[i] > 0 ? Math.sqrt(r1[i] / r2[i]) : 1;
            if (!(s[i] > 0) || Double.isInfinite(s[i])) {
                s[i] = 1;
            }
            maxLog = Math.max(maxLog, Math.abs(Math.log(s[i])));
        }
        scale(p, edits, s, total);
        return maxLog;
    }

    /** Multiplies each channel's accumulated scale by s_i; returns 1 / s_i. */
    private static double[] accumulate(double[] s, double[] total) {
        double[] inv = new double[s.length];
        for (int i = 0; i < s.length; i++) {
            inv[i] = 1 / s[i];
            total[i] *= s[i];
        }
        return inv;
    }

    /** Divides output channel i of the first layer (and what lies between) by s_i, multiplies the second's input channel i by it. */
    private static void scale(LayerPair p, LayerEdits edits, double[] s, double[] total) {
        int n = s.length;
        double[] inv = accumulate(s, total);
        LayerWeights w1 = edits.weights(p.first());
        LayerWeights w2 = edits.weights(p.second());
        w1.scaleOut(inv);
        double[] b1 = edits.bias(p.first());
        for (int i = 0; i < n; i++) {
            b1[i] *= inv[i];
        }
        w2.scaleIn(s);
        for (PerChannelOp op : p.between()) {
            if (op.kind() == PerChannelOp.Kind.CLIP) {
                double[] t = edits.vector(op.clipConstant());
                for (int i = 0; i < n; i++) {
                    t[i] *= inv[i];
                }
            }
        }
    }

    /**
     * One equalization step of a residual stream: s_i = sqrt(r1_i / r2_i) with r1_i the largest range of
     * output channel i over its writers and r2_i that of input channel i over its readers; returns max |log s_i|.
     */
    private static double equalize(ResidualStream st, LayerEdits edits, double[] total) {
        int n = total.length;
        double[] r1 = new double[n];
        double[] r2 = new double[n];
        for (WeightLayer w : st.writers()) {
            max(r1, edits.weights(w).outAbsMax());
        }
        for (WeightLayer r : st.readers()) {
            max(r2, edits.weights(r).inAbsMax());
        }
        double[] s = new double[n];
        double maxLog = 0;
        for (int i = 0; i < n; i++) {
            s[i] = r1[i] > 0 && r2[i] > 0 && Double.isFinite(r1[i]) && Double.isFinite(r2[i]) ? Math.sqrt(r1[i] / r2[i]) : 1;
            if (!(s[i] > 0) || Double.isInfinite(s[i])) {
                s[i] = 1;
            }
            maxLog = Math.max(maxLog, Math.abs(Math.log(s[i])));
        }
        scale(st, edits, s, total);
        return maxLog;
    }

    /** Divides output channel i of every writer of the stream by s_i, multiplies input channel i of every reader by it. */
    private static void scale(ResidualStream st, LayerEdits edits, double[] s, double[] total) {
        int n = s.length;
        double[] inv = accumulate(s, total);
        for (WeightLayer w : st.writers()) {
            edits.weights(w).scaleOut(inv);
            double[] b = edits.bias(w);
            for (int i = 0; i < n; i++) {
                b[i] *= inv[i];
            }
        }
        for (WeightLayer r : st.readers()) {
            edits.weights(r).scaleIn(s);
        }
    }

    private static void max(double[] into, double[] v) {
        if (v.length != into.length) {
            throw new DfqException("residual stream channels do not line up: " + v.length + " and " + into.length);
        }
        for (int i = 0; i < v.length; i++) {
            into[i] = Math.max(into[i], v[i]);
        }
    }

    private void logStream(RewriteLog log, ResidualStream st, LayerEdits edits, double[] total) {
        double min = Arrays.stream(total).min().orElse(1);
        double max = Arrays.stream(total).max().orElse(1);
        List<String> layers = new ArrayList<>();
        st.writers().forEach(w -> layers.add(w.output()));
        st.readers().forEach(r -> layers.add(r.output()));
        Map<String, Object> v = new LinkedHashMap<>();
        v.put("channels", total.length);
        v.put("writers", st.writers().size());
        v.put("readers", st.readers().size());
        v.put("minScale", min);
        v.put("maxScale", max);
        log.add(name(), "equalized residual stream: " + st.describe(), layers, v);
    }

    private void logPair(GraphView g, RewriteLog log, LayerPair p, LayerEdits edits, double[] total,
                         double[] spreadBefore) {
        double min = Double.POSITIVE_INFINITY;
        double max = 0;
        for (double s : total) {
            min = Math.min(min, s);
            max = Math.max(max, s);
        }
        double[] r1 = edits.weights(p.first()).outAbsMax();
        double[] r2 = edits.weights(p.second()).inAbsMax();
        double mismatch = 1;
        for (int i = 0; i < r1.length; i++) {
            if (r1[i] > 0 && r2[i] > 0) {
                mismatch = Math.max(mismatch, Math.max(r1[i] / r2[i], r2[i] / r1[i]));
            }
        }
        Map<String, Object> v = new LinkedHashMap<>();
        v.put("channels", r1.length);
        v.put("minScale", min);
        v.put("maxScale", max);
        v.put("rangeSpread1Before", spreadBefore[0]);
        v.put("rangeSpread1After", spread(r1));
        v.put("rangeSpread2Before", spreadBefore[1]);
        v.put("rangeSpread2After", spread(r2));
        v.put("maxRangeRatioAfter", mismatch);
        log.add(name(), "equalized " + p.describe(g), p.layers(), v);
    }

    /** max / min over the nonzero channel ranges (1 when none). */
    private static double spread(double[] r) {
        double min = Double.POSITIVE_INFINITY;
        double max = 0;
        for (double x : r) {
            if (x > 0) {
                min = Math.min(min, x);
                max = Math.max(max, x);
            }
        }
        return max > 0 ? max / min : 1;
    }

    /**
     * Replaces each ReLU6 inside a would-be pair (a pair if ReLU6 commuted with scaling) by ReLU and
     * a per-channel clip at 6, which equalization then scales with the channel.
     */
    public static final class KeepRelu6AsClip extends PatternJointRule {

        // relu6(x) = min(relu(x), t) with t_c = 6, and min(relu(s x), s t) = s min(relu(x), t) for s > 0

        private static final Pattern PAIR_THROUGH_RELU6 = candidateIf(filter(
                LayerPair.pattern(EnumSet.copyOf(withRelu6())),
                (g, m) -> m.getAll(LayerPair.BETWEEN).stream().anyMatch(p -> p.kind() == PerChannelOp.Kind.RELU6),
                "no relu6 between the layers"));

        private static Set<PerChannelOp.Kind> withRelu6() {
            Set<PerChannelOp.Kind> allowed = EnumSet.copyOf(PerChannelOp.SCALE_COMMUTING);
            allowed.add(PerChannelOp.Kind.RELU6);
            return allowed;
        }

        /** The rule. */
        public KeepRelu6AsClip() {
            super(PAIR_THROUGH_RELU6, "not applied");
        }

        @Override
        public void rewrite(Matches matches, GraphEditor editor, RewriteLog log) {
            GraphView g = matches.view();
            Set<String> done = new HashSet<>();
            int count = 0;
            for (LayerPair p : LayerPair.of(matches).pairs()) {
                boolean flat = p.first().kind() == WeightLayer.Kind.DENSE;
                for (PerChannelOp op : p.between()) {
                    if (op.kind() == PerChannelOp.Kind.FLATTEN_POOLED || (op.kind() == PerChannelOp.Kind.GLOBAL_AVG_POOL
                            && !g.attributes(op.op()).keepDims())) {
                        flat = true;
                    }
                    if (op.kind() != PerChannelOp.Kind.RELU6 || !done.add(op.op())) {
                        continue;
                    }
                    long c = g.outChannels(p.first());
                    long[] shape = flat ? new long[] {1, c} : new long[] {1, c, 1, 1};
                    String out = g.output(op.op());
                    String limit = editor.addConstant(out + "/clip", Nd4j.valueArrayOf(shape, 6f));
                    editor.replaceOp(op.op(), x -> {
                        SameDiff sd = x.getSameDiff();
                        SDVariable relu = sd.nn().relu(editor.freshName(out + "/relu"), x, 0);
                        return sd.math().min(relu, sd.getVariable(limit));
                    });
                    count++;
                }
            }
            log.add(name(), "kept relu6 as relu + per-channel clip min(x, 6/s) on " + count + " activations", List.of(),
                    RewriteLog.values("count", count));
        }
    }
}
