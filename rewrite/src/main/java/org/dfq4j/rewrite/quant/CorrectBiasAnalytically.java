package org.dfq4j.rewrite.quant;

import static org.dfq4j.rewrite.pattern.Patterns.layer;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import org.dfq4j.rewrite.DfqException;
import org.dfq4j.rewrite.engine.GraphEditor;
import org.dfq4j.rewrite.engine.RewriteLog;
import org.dfq4j.rewrite.engine.PatternJointRule;
import org.dfq4j.rewrite.engine.Matches;
import org.dfq4j.rewrite.pattern.Match;
import org.dfq4j.rewrite.graph.WeightLayer;
import org.dfq4j.rewrite.view.GraphView;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;

/**
 * Data-free bias correction (METHOD.md section 5): the quantization error eps = W~ - W of a layer
 * shifts its output mean by E[eps x]; subtracting that shift from the bias restores the float mean.
 *
 * <pre>
 *   b_corrected = b - eps . E[x]
 *   conv:      delta_o = sum_c (sum_{kh,kw} eps[kh,kw,c,o]) E[x_c]
 *   depthwise: delta_{c*m+j} = (sum_{kh,kw} eps[kh,kw,c,j]) E[x_c]
 *   dense:     delta_o = sum_i eps[i,o] E[x_i]
 * </pre>
 *
 * E[x] comes from {@link ChannelDistributions}: the statistics of the producing layer through its
 * activation (clipped-normal means), residual adds and concats. Zero-padded borders are ignored, as
 * in every implementation. Runs on the float network after equalization and absorption and before
 * {@link QuantizeWeights} with the same scheme (which then produces exactly the W~ used here); it
 * refuses to run on already quantized weights. Layers whose input mean is unknown (the network
 * input, a layer without statistics) are skipped and logged with the reason.
 */
public final class CorrectBiasAnalytically extends PatternJointRule {

    // W~ x + b - eps E[x] has the mean of W x + b, eps = W~ - W

    private final QuantScheme scheme;
    private final Rounding rounding;

    /** @param scheme the weight quantization that will follow (rounded to nearest) */
    public CorrectBiasAnalytically(QuantScheme scheme) {
        this(scheme, Rounding.NEAREST);
    }

    /**
     * @param scheme   the weight quantization that will follow, any bit width
     * @param rounding its rounding
     */
    public CorrectBiasAnalytically(QuantScheme scheme, Rounding rounding) {
        super(layer(), "not applied");
        this.scheme = scheme;
        this.rounding = rounding;
    }

    @Override
    public void rewrite(Matches matches, GraphEditor editor, RewriteLog log) {
        GraphView g = matches.view();
        String done = g.property(QuantizeWeights.PROPERTY);
        if (done != null) {
            throw new DfqException("bias correction needs the float weights, but the weights of '"
                    + g.name() + "' are already quantized (" + done
                    + "); run CorrectBiasAnalytically before QuantizeWeights");
        }
        ChannelDistributions d = ChannelDistributions.propagate(g);
        int corrected = 0;
        List<String> skipped = new ArrayList<>();
        for (Match m : matches.list()) {
            WeightLayer layer = g.weightLayer(m.anchor());
            long in = g.inChannels(layer);
            Optional<ChannelDistribution> x = d.inputOf(layer, in);
            if (x.isEmpty()) {
                skipped.add(layer.output());
                log.add(name(), "skipped: input mean unknown: " + d.whyInputUnknown(layer, in),
                        List.of(layer.output()));
                continue;
            }
            if (!g.isConstant(layer.weights()) || !g.isConstant(layer.bias())) {
                skipped.add(layer.output());
                log.add(name(), "skipped: weights or bias not constant", List.of(layer.output()));
                continue;
            }
            INDArray w = g.constant(layer.weights());
            INDArray eps = QuantizedTensor.of(w, scheme, layer.kind(), rounding).values().sub(w.castTo(DataType.FLOAT));
            double[] shift = outputMeanShift(layer.kind(), eps, x.get().means());
            double[] b = g.constant(layer.bias()).toDoubleVector();
            double maxAbs = 0;
            double sumAbs = 0;
            for (int o = 0; o < b.length; o++) {
                b[o] -= shift[o];
                maxAbs = Math.max(maxAbs, Math.abs(shift[o]));
                sumAbs += Math.abs(shift[o]);
            }
            editor.setConstant(layer.bias(), Nd4j.createFromArray(b).reshape(g.constant(layer.bias()).shape()));
            Map<String, Object> values = new LinkedHashMap<>();
            values.put("maxAbsShift", maxAbs);
            values.put("meanAbsShift", sumAbs / b.length);
            log.add(name(), "bias -= E[eps x] for " + scheme + " weights", List.of(layer.output()), values);
            corrected++;
        }
        log.add(name(), corrected + " layers corrected, " + skipped.size() + " skipped", skipped,
                RewriteLog.values("corrected", corrected, "skipped", skipped.size()));
    }

    /**
     * E[eps x] per output channel for a weight change eps (same shape as W) and the mean of each
     * input channel: the amount by which eps shifts the layer's output mean.
     */
    public static double[] outputMeanShift(WeightLayer.Kind kind, INDArray eps, double[] inputMean) {
        long[] s = eps.shape();
        float[] e = ChannelLayout.data(eps);
        return switch (kind) {
            case CONV -> {
                int in = (int) s[2];
                int out = (int) s[3];
                check(in, inputMean);
                double[] delta = new double[out];
                for (int i = 0; i < e.length; i++) { // C-order [kH,kW,in,out]
                    delta[i % out] += e[i] * inputMean[(i / out) % in];
                }
                yield delta;
            }
            case DEPTHWISE -> {
                int c = (int) s[2];
                int m = (int) s[3];
                check(c, inputMean);
                double[] delta = new double[c * m];
                for (int i = 0; i < e.length; i++) { // C-order [kH,kW,C,m]: output channel (i % (C*m)) = c*m + j
                    int o = i % (c * m);
                    delta[o] += e[i] * inputMean[o / m];
                }
                yield delta;
            }
            case DENSE -> {
                int in = (int) s[0];
                int out = (int) s[1];
                check(in, inputMean);
                double[] delta = new double[out];
                for (int i = 0; i < e.length; i++) {
                    delta[i % out] += e[i] * inputMean[i / out];
                }
                yield delta;
            }
        };
    }

    private static void check(long channels, double[] mean) {
        if (mean.length != channels) {
            throw new IllegalArgumentException("input mean has " + mean.length + " channels, layer reads " + channels);
        }
    }

    @Override
    public String toString() {
        return name() + "[" + scheme + "]";
    }
}
