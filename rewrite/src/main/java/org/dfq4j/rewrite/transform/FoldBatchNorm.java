package org.dfq4j.rewrite.transform;

import static org.dfq4j.rewrite.pattern.Patterns.followedBy;
import static org.dfq4j.rewrite.pattern.Patterns.named;
import static org.dfq4j.rewrite.pattern.Patterns.op;
import static org.dfq4j.rewrite.pattern.Patterns.weightLayer;
import static org.dfq4j.rewrite.pattern.Patterns.where;
import static org.dfq4j.rewrite.pattern.Patterns.withSingleConsumer;

import java.util.Arrays;
import java.util.List;
import java.util.Map;
import org.dfq4j.rewrite.engine.GraphEditor;
import org.dfq4j.rewrite.engine.RewriteLog;
import org.dfq4j.rewrite.engine.Rule;
import org.dfq4j.rewrite.graph.ChannelStats;
import org.dfq4j.rewrite.graph.WeightLayer;
import org.dfq4j.rewrite.pattern.Match;
import org.dfq4j.rewrite.pattern.Pattern;
import org.dfq4j.rewrite.view.GraphView;
import org.nd4j.linalg.api.ops.impl.layers.convolution.BatchNorm;

/**
 * Folds a BatchNorm into the conv, depthwise conv or dense layer before it, when the BatchNorm is
 * the layer output's only consumer (METHOD.md section 1). The BatchNorm's (beta, |gamma|) become the
 * layer's pre-activation statistics in {@link org.dfq4j.rewrite.graph.Network#stats()}.
 */
public final class FoldBatchNorm implements Rule {

    // bn(W x + b) = gamma (W x + b - mu) / sqrt(var + eps) + beta = (k W) x + (b - mu) k + beta, k = gamma / sqrt(var + eps)

    private static final Pattern LAYER_THEN_BN = followedBy(named("layer", withSingleConsumer(weightLayer())),
            named("bn", where(op("batchnorm"), FoldBatchNorm::foldable,
                    "batchnorm is not over channel axis 1 with constant mean, variance, gamma and beta")));

    @Override
    public Pattern pattern() {
        return LAYER_THEN_BN;
    }

    @Override
    public void rewrite(Match match, GraphEditor editor, RewriteLog log) {
        GraphView g = editor.view();
        WeightLayer layer = g.weightLayer(match.op("layer"));
        String bnOp = match.op("bn");
        String bnOut = g.output(bnOp);
        List<String> in = g.inputs(bnOp);
        double[] mu = ConstantValues.read(g, in.get(1));
        double[] var = ConstantValues.read(g, in.get(2));
        double[] gamma = ConstantValues.read(g, in.get(3));
        double[] beta = ConstantValues.read(g, in.get(4));
        double eps = ((BatchNorm) g.sameDiffOp(bnOp).getOp()).getEpsilon();
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
        log.add(name(), "folded batchnorm into " + layer.kind().opName(), List.of(layer.output(), bnOut),
                Map.of("channels", n, "eps", eps));
    }

    /** The channel axes; after SameDiff.dup() only the integer arguments (gamma?, beta?, axes...) keep them. */
    private static long[] axes(BatchNorm op) {
        if (op.getJaxis() != null) {
            return Arrays.stream(op.getJaxis()).asLongStream().toArray();
        }
        long[] i = op.iArgs();
        return i.length > 2 ? Arrays.copyOfRange(i, 2, i.length) : new long[0];
    }

    private static boolean foldable(GraphView g, Match m) {
        String bn = m.last();
        if (!(g.sameDiffOp(bn).getOp() instanceof BatchNorm op)) {
            return false;
        }
        List<String> in = g.inputs(bn);
        return in.size() == 5 && op.isApplyGamma() && op.isApplyBeta()
                && Arrays.equals(axes(op), new long[] {1})
                && in.subList(1, 5).stream().allMatch(g::isConstant);
    }
}
