package org.dfq4j.rewrite.transform;

import static org.dfq4j.rewrite.pattern.Patterns.capture;
import static org.dfq4j.rewrite.pattern.Patterns.named;
import static org.dfq4j.rewrite.pattern.Patterns.op;
import static org.dfq4j.rewrite.pattern.Patterns.operand;
import static org.dfq4j.rewrite.pattern.Patterns.producedBy;
import static org.dfq4j.rewrite.pattern.Patterns.required;
import static org.dfq4j.rewrite.pattern.Patterns.soleUse;
import static org.dfq4j.rewrite.pattern.Patterns.weightLayer;
import static org.dfq4j.rewrite.pattern.Patterns.where;

import java.util.Arrays;
import java.util.List;
import java.util.Optional;
import org.dfq4j.rewrite.engine.GraphEditor;
import org.dfq4j.rewrite.engine.RewriteLog;
import org.dfq4j.rewrite.engine.PatternRule;
import org.dfq4j.rewrite.graph.ChannelStats;
import org.dfq4j.rewrite.graph.OpAttributes;
import org.dfq4j.rewrite.graph.OpKind;
import org.dfq4j.rewrite.graph.WeightLayer;
import org.dfq4j.rewrite.pattern.Capture;
import org.dfq4j.rewrite.pattern.Match;
import org.dfq4j.rewrite.pattern.Pattern;
import org.dfq4j.rewrite.view.GraphView;

/**
 * Folds a BatchNorm into the conv, depthwise conv or dense layer before it, when the BatchNorm is
 * the layer output's only consumer (METHOD.md section 1). The pattern is anchored at the BatchNorm:
 * one that does not follow such a layer, or is not over channel axis 1, is refused with the reason. The BatchNorm's (beta, |gamma|) become the
 * layer's pre-activation statistics in {@link org.dfq4j.rewrite.graph.Network#stats()}.
 */
public final class FoldBatchNorm extends PatternRule {

    // bn(W x + b) = gamma (W x + b - mu) / sqrt(var + eps) + beta = (k W) x + (b - mu) k + beta, k = gamma / sqrt(var + eps)

    /** The layer a BatchNorm folds into. */
    public static final Capture<WeightLayer> LAYER = Capture.of("layer", WeightLayer.class);

    private static final Pattern BN_AFTER_LAYER = operand(
            where(named("bn", op(OpKind.BATCH_NORM)), FoldBatchNorm::foldable,
                    "batchnorm is not over channel axis 1 with constant mean, variance, gamma and beta"),
            0, required(soleUse(producedBy(capture(LAYER, weightLayer())))));

    /** The rule. */
    public FoldBatchNorm() {
        super(BN_AFTER_LAYER, "not folded");
    }

    @Override
    public void rewrite(Match match, GraphEditor editor, RewriteLog log) {
        GraphView g = editor.view();
        WeightLayer layer = match.get(LAYER);
        String bnOp = match.op("bn");
        String bnOut = g.output(bnOp);
        List<String> in = g.inputs(bnOp);
        double[] mu = ConstantValues.read(g, in.get(1));
        double[] var = ConstantValues.read(g, in.get(2));
        double[] gamma = ConstantValues.read(g, in.get(3));
        double[] beta = ConstantValues.read(g, in.get(4));
        double eps = g.attributes(bnOp).batchNorm().orElseThrow().epsilon();
        LayerWeights w = LayerWeights.of(layer.kind(), g.constant(layer.weights()));
        double[] b = ConstantValues.read(g, layer.bias());
        int n = w.outChannels();
        if (mu.length != n || var.length != n || gamma.length != n || beta.length != n) {
            throw new IllegalStateException("batchnorm '" + bnOut + "' has " + mu.length + " channels, layer '"
                    + layer.output() + "' has " + n);
        }
        double[] k = new double[n];
        double[] b2 = new double[n];
        double[] absGamma = new double[n];
        for (int c = 0; c < n; c++) {
            k[c] = gamma[c] / Math.sqrt(var[c] + eps);
            b2[c] = (b[c] - mu[c]) * k[c] + beta[c];
            absGamma[c] = Math.abs(gamma[c]);
        }
        w.scaleOut(k);
        editor.setConstant(layer.weights(), w.toArray());
        editor.setConstant(layer.bias(), ConstantValues.array(b2, g.constant(layer.bias()).shape()));
        editor.bypass(bnOp);
        editor.setStats(layer.output(), new ChannelStats(beta, absGamma));
        log.add(name(), "folded batchnorm into " + layer.kind().op().opName(), List.of(layer.output(), bnOut),
                RewriteLog.values("channels", n, "eps", eps));
    }

    private static boolean foldable(GraphView g, Match m) {
        String bn = m.op("bn");
        Optional<OpAttributes.BatchNormConfig> c = g.attributes(bn).batchNorm();
        List<String> in = g.inputs(bn);
        return c.isPresent() && in.size() == 5 && c.get().applyGamma() && c.get().applyBeta()
                && Arrays.equals(c.get().axes(), new long[] {1})
                && in.subList(1, 5).stream().allMatch(g::isConstant);
    }
}
