package org.dfq4j.rewrite.transform;

import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.Map;
import org.dfq4j.rewrite.engine.GraphEditor;
import org.dfq4j.rewrite.graph.WeightLayer;
import org.dfq4j.rewrite.view.GraphView;

/**
 * Working copies of the weights, biases and clip limits a transform edits, read once from the graph
 * and written back through the editor by {@link #commit()}, only where they changed. Layers shared
 * by two pairs (a depthwise conv between two convs) share one copy.
 */
final class LayerEdits {

    private final GraphEditor editor;
    private final GraphView g;
    private final Map<String, LayerWeights> weights = new LinkedHashMap<>();
    private final Map<String, float[]> weightsBefore = new LinkedHashMap<>();
    private final Map<String, double[]> vectors = new LinkedHashMap<>();
    private final Map<String, double[]> vectorsBefore = new LinkedHashMap<>();

    LayerEdits(GraphEditor editor) {
        this.editor = editor;
        this.g = editor.view();
    }

    LayerWeights weights(WeightLayer l) {
        return weights.computeIfAbsent(l.weights(), k -> {
            LayerWeights w = LayerWeights.of(l.kind(), g.constant(k));
            weightsBefore.put(k, w.values());
            return w;
        });
    }

    double[] bias(WeightLayer l) {
        return vector(l.bias());
    }

    /** A constant as a flat vector (e.g. per-channel clip limits); edit it in place. */
    double[] vector(String constant) {
        return vectors.computeIfAbsent(constant, k -> {
            double[] v = ConstantValues.read(g, k);
            vectorsBefore.put(k, v.clone());
            return v;
        });
    }

    /** Writes back every copy that differs from the graph's array; returns how many constants changed. */
    int commit() {
        int n = 0;
        for (var e : weights.entrySet()) {
            if (!Arrays.equals(e.getValue().values(), weightsBefore.get(e.getKey()))) {
                editor.setConstant(e.getKey(), e.getValue().toArray());
                n++;
            }
        }
        for (var e : vectors.entrySet()) {
            if (!Arrays.equals(e.getValue(), vectorsBefore.get(e.getKey()))) {
                editor.setConstant(e.getKey(), ConstantValues.array(e.getValue(), g.constant(e.getKey()).shape()));
                n++;
            }
        }
        return n;
    }
}
