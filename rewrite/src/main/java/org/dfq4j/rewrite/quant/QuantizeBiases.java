package org.dfq4j.rewrite.quant;

import java.util.List;
import java.util.Map;
import java.util.Optional;
import org.dfq4j.rewrite.engine.GraphEditor;
import org.dfq4j.rewrite.engine.RewriteLog;
import org.dfq4j.rewrite.engine.Transform;
import org.dfq4j.rewrite.graph.OpKind;
import org.dfq4j.rewrite.graph.WeightLayer;
import org.dfq4j.rewrite.transform.PerChannelOp;
import org.dfq4j.rewrite.view.GraphView;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.factory.Nd4j;

/**
 * Rounds each bias to what an integer runtime stores: int32 levels at scale s_in * s_w[c] (the
 * input's activation scale times the channel's weight scale), zero point 0, as ONNX Runtime's
 * QLinearConv, TFLite and every QDQ exporter keep it (METHOD.md section 0). The simulation then
 * computes with the very bias the deployed network adds, and an exported QDQ model (whose int32
 * bias dequantizes to these values, float32 arithmetic alike) agrees with it.
 *
 * <p>A layer qualifies when its weights were quantized ({@link WeightQuantizers}) and its input is a
 * fake-quantized tensor ({@link #inputQuantizer}); a bias whose levels would not fit 32 bits stays
 * float (logged). Runs after {@link InsertFakeQuant}; the change per bias is at most half a level
 * s_in * s_w / 2, far below the output's own step.
 */
public final class QuantizeBiases implements Transform {

    @Override
    public void apply(GraphEditor editor, RewriteLog log) {
        GraphView g = editor.view();
        int rounded = 0;
        int kept = 0;
        double largest = 0;
        for (WeightLayer l : g.weightLayers()) {
            Optional<List<QuantParams>> w = WeightQuantizers.of(editor.network(), l.weights());
            ActivationQuantizer in = inputQuantizer(g, l);
            if (w.isEmpty() || in == null || !g.isConstant(l.bias()) || g.fanOut(l.bias()) != 1) {
                continue;
            }
            float[] b = g.constant(l.bias()).castTo(DataType.FLOAT).dup('c').data().asFloat();
            float[] scales = biasScales(in, w.get());
            float[] out = new float[b.length];
            boolean fits = true;
            for (int k = 0; k < b.length && fits; k++) {
                float s = scales[scales.length == 1 ? 0 : k];
                double q = Math.rint(b[k] / (double) s);
                fits = Math.abs(q) <= Integer.MAX_VALUE;
                // float32 as a runtime's DequantizeLinear computes it
                out[k] = (float) (int) q * s;
                largest = Math.max(largest, Math.abs(out[k] - b[k]) / s);
            }
            if (!fits) {
                kept++;
                log.add(name(), "bias kept float: its levels at scale s_in * s_w do not fit 32 bits", List.of(l.output()));
                continue;
            }
            editor.setConstant(l.bias(), Nd4j.create(out, new long[] {out.length}, 'c'));
            rounded++;
        }
        log.add(name(), rounded + " biases rounded to int32 levels at scale s_in * s_w; " + kept + " kept float",
                List.of(), Map.of("rounded", rounded, "keptFloat", kept, "largestChangeInLevels", largest));
    }

    /**
     * The quantizer of a weight layer's input when the input is a fake-quant's output, directly or
     * through a zero padding (whose zeros are a level): what an integer kernel reads; null otherwise.
     */
    public static ActivationQuantizer inputQuantizer(GraphView g, WeightLayer l) {
        String x = l.input();
        String p = g.producer(x);
        if (p != null && g.kind(p) == OpKind.PAD) {
            PerChannelOp pad = PerChannelOp.classify(g, p);
            if (pad == null || pad.kind() != PerChannelOp.Kind.ZERO_PAD) {
                return null;
            }
            p = g.producer(g.inputs(p).get(0));
        }
        if (p == null || g.kind(p) != OpKind.FAKE_QUANT) {
            return null;
        }
        ActivationQuantizer q = ActivationQuantizer.of(g, p);
        return q.scale() > 0 ? q : null;
    }

    /** The bias scales s_in * s_w[c] in float32 (one, or one per output channel). */
    public static float[] biasScales(ActivationQuantizer in, List<QuantParams> weights) {
        float[] w = WeightQuantizers.scales(weights);
        float[] s = new float[w.length];
        for (int c = 0; c < w.length; c++) {
            s[c] = in.scale() * w[c];
        }
        return s;
    }
}
