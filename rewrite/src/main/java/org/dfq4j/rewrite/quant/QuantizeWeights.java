package org.dfq4j.rewrite.quant;

import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import org.dfq4j.rewrite.DfqException;
import org.dfq4j.rewrite.engine.GraphEditor;
import org.dfq4j.rewrite.engine.RewriteLog;
import org.dfq4j.rewrite.engine.Transform;
import org.dfq4j.rewrite.graph.WeightLayer;
import org.dfq4j.rewrite.view.GraphView;

/**
 * Replaces every weight layer's W by its fake-quantized float value (METHOD.md section 0), per tensor
 * or per output channel. Biases stay float: an 8-bit min/max quantizer on a bias loses accuracy
 * (an integer runtime keeps them at int32 with scale s_w * s_x). No ops are added.
 *
 * <p>The quantizers are kept with the network ({@link WeightQuantizers}) for exporters. Logs per
 * layer the scheme, the smallest and largest channel scale and the SQNR of the weight
 * quantization in dB, and marks the network ({@link #PROPERTY}) so that a bias correction, which
 * needs the float weights, refuses to run after it.
 */
public final class QuantizeWeights implements Transform {

    /** Network property set to the scheme once the weights are quantized. */
    public static final String PROPERTY = "dfq.weights.quantized";

    private final QuantScheme scheme;

    public QuantizeWeights(QuantScheme scheme) {
        this.scheme = scheme;
    }

    @Override
    public void apply(GraphEditor editor, RewriteLog log) {
        String done = editor.network().properties().get(PROPERTY);
        if (done != null) {
            throw new DfqException("the weights of '" + editor.network().name() + "' are already quantized (" + done
                    + "); quantize them once, at the end of the pipeline");
        }
        GraphView g = editor.view();
        Set<String> quantized = new HashSet<>();
        int layers = 0;
        for (WeightLayer layer : g.weightLayers()) {
            if (!g.isConstant(layer.weights())) {
                log.add(name(), "skipped: weights are not a constant", List.of(layer.output()));
                continue;
            }
            if (!quantized.add(layer.weights())) {
                continue; // shared weights: quantizing twice would not be idempotent
            }
            QuantizedTensor q = QuantizedTensor.of(g.constant(layer.weights()), scheme, layer.kind());
            editor.setConstant(layer.weights(), q.values());
            WeightQuantizers.record(editor.network(), layer.weights(), q.channels());
            Map<String, Object> values = new LinkedHashMap<>();
            values.put("channels", q.channels().size());
            values.put("minScale", q.minScale());
            values.put("maxScale", q.maxScale());
            values.put("sqnrDb", q.sqnrDb());
            log.add(name(), "weights quantized " + scheme, List.of(layer.output()), values);
            layers++;
        }
        editor.network().properties().put(PROPERTY, scheme.toString());
        log.add(name(), layers + " weight tensors quantized " + scheme + "; biases kept float");
    }

    @Override
    public String toString() {
        return name() + "[" + scheme + "]";
    }
}
