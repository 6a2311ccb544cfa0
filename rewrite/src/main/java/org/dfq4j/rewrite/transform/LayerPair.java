package org.dfq4j.rewrite.transform;

import static org.dfq4j.rewrite.pattern.Patterns.capture;
import static org.dfq4j.rewrite.pattern.Patterns.through;
import static org.dfq4j.rewrite.pattern.Patterns.weightLayer;
import static org.dfq4j.rewrite.pattern.Patterns.withSingleConsumer;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import org.dfq4j.rewrite.engine.Matches;
import org.dfq4j.rewrite.graph.OpAttributes;
import org.dfq4j.rewrite.graph.WeightLayer;
import org.dfq4j.rewrite.pattern.Capture;
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

    /** The first layer of a pair. */
    public static final Capture<WeightLayer> FIRST = Capture.of("first", WeightLayer.class);
    /** The per-channel ops between the layers, in order. */
    public static final Capture<PerChannelOp> BETWEEN = Capture.of("between", PerChannelOp.class);
    /** The second layer of a pair. */
    public static final Capture<WeightLayer> SECOND = Capture.of("second", WeightLayer.class);

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
        List<String> out = new ArrayList<>();
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
     * Two weight layers that own their constants, joined by sole consumers through ops of the allowed
     * kinds, where output channel i of the first is input channel i of the second (captures
     * {@link #FIRST}, {@link #BETWEEN}, {@link #SECOND}). A layer whose output is a network output or
     * has several consumers, whose chain reaches an op not allowed, whose channels do not line up
     * with the second layer's, or whose clip between has not one limit per channel is refused, and
     * the reason says which.
     */
    public static Pattern pattern(Set<PerChannelOp.Kind> allowed) {
        Pattern chain = through(withSingleConsumer(capture(FIRST, weightLayer())),
                capture(BETWEEN, PerChannelOp.pattern(allowed)), capture(SECOND, weightLayer()));
        return (g, op) -> {
            MatchResult r = chain.match(g, op);
            if (!r.matched()) {
                return r;
            }
            Match m = r.match();
            WeightLayer first = m.get(FIRST);
            WeightLayer second = m.get(SECOND);
            long out = g.outChannels(first);
            long in = g.inChannels(second);
            if (out != in) {
                return MatchResult.refused("'" + first.output() + "' has " + out + " output channels but '"
                        + second.output() + "' reads " + in + " (not channel-preserving between them)");
            }
            for (PerChannelOp p : m.getAll(BETWEEN)) {
                if (p.kind() == PerChannelOp.Kind.CLIP && g.constantLength(p.clipConstant()) != out) {
                    return MatchResult.refused("clip '" + p.op() + "' does not have one limit per channel");
                }
            }
            return r;
        };
    }

    /** The pair a match of {@link #pattern} found. */
    public static LayerPair of(GraphView g, Match m) {
        WeightLayer second = m.get(SECOND);
        List<PerChannelOp> between = m.getAll(BETWEEN);
        boolean pads = between.stream().anyMatch(p -> p.kind() == PerChannelOp.Kind.ZERO_PAD) || readsPadding(g, second);
        return new LayerPair(m.get(FIRST), between, second, pads);
    }

    /** The pairs of a joint rule's matches, and its refusals as the unpaired layers. */
    public static Search of(Matches matches) {
        List<LayerPair> pairs = new ArrayList<>();
        for (Match m : matches.list()) {
            pairs.add(of(matches.view(), m));
        }
        return new Search(pairs, matches.refusals());
    }

    /** Every pair of a graph in topological order of the first layer, and why each other layer starts none. */
    public static Search findAll(GraphView g, Set<PerChannelOp.Kind> allowed) {
        Pattern pair = pattern(allowed);
        List<LayerPair> pairs = new ArrayList<>();
        Map<String, String> unpaired = new LinkedHashMap<>();
        for (WeightLayer l : g.weightLayers()) {
            MatchResult r = pair.match(g, l.op());
            if (r.matched()) {
                pairs.add(of(g, r.match()));
            } else {
                unpaired.put(l.output(), r.reason());
            }
        }
        return new Search(pairs, unpaired);
    }

    /** True when some output of the layer reads zero padding (a kernel wider than 1 with SAME or explicit pads). */
    static boolean readsPadding(GraphView g, WeightLayer l) {
        if (l.kind() == WeightLayer.Kind.DENSE) {
            return false;
        }
        return g.attributes(l.op()).window().map(OpAttributes.Window::readsPadding).orElse(false);
    }
}
