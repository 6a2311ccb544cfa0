package org.dfq4j.rewrite.quant;

import static org.dfq4j.rewrite.pattern.Patterns.capture;
import static org.dfq4j.rewrite.pattern.Patterns.layer;
import static org.dfq4j.rewrite.pattern.Patterns.where;

import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import org.dfq4j.rewrite.DfqException;
import org.dfq4j.rewrite.engine.GraphEditor;
import org.dfq4j.rewrite.engine.RewriteLog;
import org.dfq4j.rewrite.engine.PatternJointRule;
import org.dfq4j.rewrite.engine.Matches;
import org.dfq4j.rewrite.graph.WeightLayer;
import org.dfq4j.rewrite.pattern.Capture;
import org.dfq4j.rewrite.pattern.Match;
import org.dfq4j.rewrite.pattern.Pattern;
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
public final class QuantizeWeights extends PatternJointRule {

    // W -> s (clamp(round(W / s) + z, qMin, qMax) - z), per tensor or per output channel

    /** Network property set to the scheme once the weights are quantized. */
    public static final String PROPERTY = "dfq.weights.quantized";

    private final QuantScheme scheme;
    private final Rounding rounding;

    /** Rounded to nearest. */
    public QuantizeWeights(QuantScheme scheme) {
        this(scheme, Rounding.NEAREST);
    }

    public QuantizeWeights(QuantScheme scheme, Rounding rounding) {
        super(CONSTANT_WEIGHTS, "skipped");
        this.scheme = scheme;
        this.rounding = java.util.Objects.requireNonNull(rounding);
    }

    /** Layers whose weights are a constant (shared weights are quantized once). */
    static final Capture<WeightLayer> LAYER = Capture.of("layer", WeightLayer.class);

    private static final Pattern CONSTANT_WEIGHTS = where(capture(LAYER, layer()),
            (g, m) -> g.isConstant(m.get(LAYER).weights()), "weights are not a constant");

    @Override
    public void rewrite(Matches matches, GraphEditor editor, RewriteLog log) {
        GraphView g = matches.view();
        String done = g.property(PROPERTY);
        if (done != null) {
            throw new DfqException("the weights of '" + g.name() + "' are already quantized (" + done
                    + "); quantize them once, at the end of the pipeline");
        }
        Set<String> quantized = new HashSet<>();
        int layers = 0;
        for (Match m : matches.list()) {
            WeightLayer layer = m.get(LAYER);
            if (!quantized.add(layer.weights())) {
                continue; // shared weights: quantizing twice would not be idempotent
            }
            QuantizedTensor q = QuantizedTensor.of(g.constant(layer.weights()), scheme, layer.kind(), rounding);
            editor.setConstant(layer.weights(), q.values());
            WeightQuantizers.record(editor, layer.weights(), q.channels());
            Map<String, Object> values = new LinkedHashMap<>();
            values.put("channels", q.channels().size());
            values.put("minScale", q.minScale());
            values.put("maxScale", q.maxScale());
            values.put("sqnrDb", q.sqnrDb());
            values.put("rounding", rounding.name().toLowerCase(java.util.Locale.ROOT));
            log.add(name(), "weights quantized " + scheme, List.of(layer.output()), values);
            layers++;
        }
        editor.setProperty(PROPERTY, scheme.toString());
        log.add(name(), layers + " weight tensors quantized " + scheme + "; biases kept float");
    }

    @Override
    public String toString() {
        return name() + "[" + scheme + (rounding == Rounding.NEAREST ? "" : ", " + rounding) + "]";
    }
}
