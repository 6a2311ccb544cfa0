package org.dfq4j.rewrite.transform;

import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Deque;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import org.dfq4j.rewrite.graph.OpKind;
import org.dfq4j.rewrite.graph.WeightLayer;
import org.dfq4j.rewrite.view.GraphView;

/**
 * A residual stream: the tensors joined by residual adds (y = x + f(x), and the adds after it), with
 * every weight layer that writes into it (its output is a tensor of the stream, no activation
 * between) and every weight layer that reads from it (its input is a tensor of the stream). Scaling
 * channel i of the whole stream by 1/s_i is exact when every writer's output channel i and bias are
 * divided by s_i and every reader's input channel i is multiplied by s_i, because adds are linear:
 *
 * <pre>
 *   W_r (W_a x + b_a + W_b y + b_b) = (W_r S) (S^-1 (W_a x + b_a) + S^-1 (W_b y + b_b))
 * </pre>
 *
 * A stream is refused (with the reason) when one of its tensors is a network output, is produced by
 * anything but a writer or an add, or is read by anything but a reader or an add of the stream.
 *
 * @param tensors the stream's tensors
 * @param writers the weight layers writing into it
 * @param readers the weight layers reading from it
 */
record ResidualStream(List<String> tensors, List<WeightLayer> writers, List<WeightLayer> readers) {

    /** The streams of a graph, and why each other residual add's stream cannot be equalized. */
    record Search(List<ResidualStream> streams, Map<String, String> refused) {
    }

    /** Every residual stream (grown from each add), in topological order of its first add. */
    static Search findAll(GraphView g) {
        Map<String, WeightLayer> byOutput = new LinkedHashMap<>();
        for (WeightLayer l : g.weightLayers()) {
            byOutput.put(l.output(), l);
        }
        List<ResidualStream> streams = new ArrayList<>();
        Map<String, String> refused = new LinkedHashMap<>();
        Set<String> seen = new LinkedHashSet<>();
        for (String op : g.ops()) {
            if (g.kind(op) != OpKind.ADD || seen.contains(g.output(op))) {
                continue;
            }
            Set<String> tensors = grow(g, g.output(op));
            seen.addAll(tensors);
            String why = null;
            List<WeightLayer> writers = new ArrayList<>();
            List<WeightLayer> readers = new ArrayList<>();
            for (String t : tensors) {
                String p = g.producer(t);
                if (g.isNetworkOutput(t)) {
                    why = "'" + t + "' is a network output";
                } else if (p == null) {
                    why = "'" + t + "' is the network input";
                } else if (g.kind(p) != OpKind.ADD) {
                    WeightLayer w = byOutput.get(t);
                    if (w == null || !g.isConstant(w.weights()) || !g.isConstant(w.bias())) {
                        why = "'" + t + "' is written by " + g.opType(p) + " '" + p + "', not by a weight layer";
                    } else {
                        writers.add(w);
                    }
                }
                for (String c : g.consumers(t)) {
                    WeightLayer r = g.weightLayer(c);
                    if (g.kind(c) == OpKind.ADD) {
                        continue;
                    }
                    if (r == null || !r.input().equals(t) || !g.isConstant(r.weights())) {
                        why = "'" + t + "' is read by " + g.opType(c) + " '" + c + "', not by a weight layer";
                    } else if (!readers.contains(r)) {
                        readers.add(r);
                    }
                }
                if (why != null) {
                    break;
                }
            }
            if (why == null && readers.isEmpty()) {
                why = "no weight layer reads it";
            }
            if (why != null) {
                refused.put(g.output(op), why);
            } else {
                streams.add(new ResidualStream(List.copyOf(tensors), writers, readers));
            }
        }
        return new Search(streams, refused);
    }

    /** The tensors joined to {@code start} by adds: an add's inputs and output belong together. */
    private static Set<String> grow(GraphView g, String start) {
        Set<String> out = new LinkedHashSet<>();
        Deque<String> todo = new ArrayDeque<>(List.of(start));
        while (!todo.isEmpty()) {
            String t = todo.pop();
            if (!out.add(t)) {
                continue;
            }
            String p = g.producer(t);
            if (p != null && g.kind(p) == OpKind.ADD) {
                todo.addAll(g.inputs(p));
            }
            for (String c : g.consumers(t)) {
                if (g.kind(c) == OpKind.ADD) {
                    todo.add(g.output(c));
                    todo.addAll(g.inputs(c));
                }
            }
        }
        return out;
    }

    /** e.g. "2 writers (a, b) -> 3 readers (c, d, e)". */
    String describe() {
        return writers.size() + " writers " + writers.stream().map(WeightLayer::output).toList() + " -> "
                + readers.size() + " readers " + readers.stream().map(WeightLayer::output).toList();
    }
}
