package org.dfq4j.rewrite.transform;

import static org.dfq4j.rewrite.pattern.Patterns.named;
import static org.dfq4j.rewrite.pattern.Patterns.through;
import static org.dfq4j.rewrite.pattern.Patterns.weightLayer;
import static org.dfq4j.rewrite.pattern.Patterns.withSingleConsumer;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import org.dfq4j.rewrite.graph.WeightLayer;
import org.dfq4j.rewrite.pattern.Match;
import org.dfq4j.rewrite.pattern.MatchResult;
import org.dfq4j.rewrite.pattern.Pattern;
import org.dfq4j.rewrite.view.GraphView;

/**
 * Two weight layers joined by a chain of per-channel ops, each the sole consumer of the one before:
 * y = W2 f(W1 x + b1) + b2, where output channel i of the first layer is input channel i of the
 * second.
 */
public record LayerPair(WeightLayer first, List<PerChannelOp> between, WeightLayer second,
                        boolean zeroPaddedBorders) {

    public LayerPair {
        between = List.copyOf(between);
    }

    /** Pairs found in a graph, and why each other weight layer starts no pair. */
    public record Search(List<LayerPair> pairs, Map<String, String> unpaired) {
    }

    public boolean has(PerChannelOp.Kind kind) {
        return between.stream().anyMatch(p -> p.kind() == kind);
    }

    /** The output variables of both layers, for logs. */
    public List<String> layers() {
        return List.of(first.output(), second.output());
    }

    /** The tensors whose channels a change of the first layer's output channels reaches: its output and each op's between. */
    public List<String> tensorsBetween(GraphView g) {
        List<String> out = new java.util.ArrayList<>();
        out.add(first.output());
        between.forEach(p -> out.add(g.output(p.op())));
        return out;
    }

    /** e.g. "conv1 -> relu -> maxpool2d -> conv2". */
    public String describe(GraphView g) {
        StringBuilder sb = new StringBuilder(first.output());
        for (PerChannelOp p : between) {
            sb.append(" -> ").append(g.opType(p.op()));
        }
        return sb.append(" -> ").append(second.output()).toString();
    }

    /**
     * Every pair in topological order of the first layer, with only ops of the allowed kinds between.
     * A layer whose output is a network output or has several consumers, or whose chain reaches an op
     * not allowed, starts no pair (the reason is kept).
     */
    public static Search findAll(GraphView g, Set<PerChannelOp.Kind> allowed) {
        Pattern pair = through(named("first", withSingleConsumer(weightLayer())), PerChannelOp.pattern(allowed),
                named("second", weightLayer()));
        List<LayerPair> pairs = new ArrayList<>();
        Map<String, String> unpaired = new LinkedHashMap<>();
        for (WeightLayer l : g.weightLayers()) {
            MatchResult r = pair.match(g, l.op());
            if (!r.matched()) {
                unpaired.put(l.output(), r.reason());
                continue;
            }
            Match m = r.match();
            WeightLayer second = g.weightLayer(m.op("second"));
            long out = l.outChannels(g.sameDiff());
            long in = second.inChannels(g.sameDiff());
            if (out != in) {
                unpaired.put(l.output(), "'" + l.output() + "' has " + out + " output channels but '" + second.output()
                        + "' reads " + in + " (not channel-preserving between them)");
                continue;
            }
            List<PerChannelOp> between = new ArrayList<>();
            for (String op : m.ops().subList(1, m.ops().size() - 1)) {
                between.add(PerChannelOp.classify(g, op));
            }
            String badClip = between.stream().filter(p -> p.kind() == PerChannelOp.Kind.CLIP
                    && g.constant(p.clipConstant()).length() != out).map(PerChannelOp::op).findFirst().orElse(null);
            if (badClip != null) {
                unpaired.put(l.output(), "clip '" + badClip + "' does not have one limit per channel");
                continue;
            }
            boolean pads = between.stream().anyMatch(p -> p.kind() == PerChannelOp.Kind.ZERO_PAD)
                    || readsPadding(g, second);
            pairs.add(new LayerPair(l, between, second, pads));
        }
        return new Search(pairs, unpaired);
    }

    /** True when some output of the layer reads zero padding (a kernel wider than 1 with SAME or explicit pads). */
    static boolean readsPadding(GraphView g, WeightLayer l) {
        if (l.kind() == WeightLayer.Kind.DENSE) {
            return false;
        }
        Map<String, Object> p = g.sameDiffOp(l.op()).getOp().propertiesForFunction();
        boolean wide = number(p.get("kH")) > 1 || number(p.get("kW")) > 1;
        boolean padded = "SAME".equals(String.valueOf(p.get("paddingMode"))) || number(p.get("pH")) > 0
                || number(p.get("pW")) > 0;
        return wide && padded;
    }

    private static long number(Object o) {
        return o instanceof Number n ? n.longValue() : 0;
    }
}
