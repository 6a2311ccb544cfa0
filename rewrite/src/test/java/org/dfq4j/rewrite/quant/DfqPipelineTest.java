package org.dfq4j.rewrite.quant;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.List;
import org.dfq4j.rewrite.graph.OpKind;
import org.dfq4j.rewrite.engine.Pipeline;
import org.dfq4j.rewrite.engine.RewriteDriver;
import org.dfq4j.rewrite.engine.Rewritten;
import org.dfq4j.rewrite.graph.Network;
import org.dfq4j.rewrite.graph.Padding;
import org.dfq4j.rewrite.graph.TensorRange;
import org.dfq4j.rewrite.testing.SyntheticNets;
import org.dfq4j.rewrite.transform.AbsorbHighBias;
import org.dfq4j.rewrite.transform.CrossLayerEqualization;
import org.dfq4j.rewrite.transform.FoldBatchNorm;
import org.dfq4j.rewrite.view.GraphView;
import org.junit.jupiter.api.Test;
import org.nd4j.autodiff.samediff.SDVariable;
import org.nd4j.linalg.api.ndarray.INDArray;

/** The whole data-free pipeline on a small MobileNet-like block: fold, equalize, absorb, correct, quantize. */
class DfqPipelineTest {

    private record Net(Network net, INDArray calibration) {
    }

    /** input -> c1 conv3x3 -> BN -> relu6 -> d1 depthwise -> BN -> relu6 -> c2 1x1 -> BN -> gap -> fc. */
    private static Net mobileBlock(long seed) {
        SyntheticNets s = new SyntheticNets("block", seed, 3, 12);
        var b = s.builder();
        SDVariable c1 = s.conv("c1", s.input(), 3, 3, 16, 1, Padding.SAME);
        SDVariable r1 = b.relu6("r1", s.calibratedBatchNorm("bn1", c1, 0.2, 3, -1, 2));
        SDVariable d1 = s.depthwise("d1", r1, 3, 16, 1, 1, Padding.SAME);
        SDVariable r2 = b.relu6("r2", s.calibratedBatchNorm("bn2", d1, 0.2, 3, -1, 2));
        SDVariable c2 = s.calibratedBatchNorm("bn3", s.conv("c2", r2, 1, 16, 8, 1, Padding.SAME));
        s.dense("fc", b.globalAvgPool("gap", c2, false), 8, 4);
        return new Net(b.build("fc"), s.calibration());
    }

    private static double meanError(Network q, Network f, INDArray x) {
        INDArray a = q.output(x).mean(0);
        INDArray b = f.output(x).mean(0);
        return a.sub(b).norm1Number().doubleValue() / a.length();
    }

    @Test
    void equalizedClipsAreFusedAndBiasCorrectionReducesTheMeanError() {
        Net n = mobileBlock(51);
        TensorRange input = new TensorRange(-5, 5);
        Rewritten prepared = Pipeline.of(RewriteDriver.of(new FoldBatchNorm()), CrossLayerEqualization.keepingRelu6(),
                new AbsorbHighBias()).run(n.net());
        GraphView g = GraphView.of(prepared.network());
        QuantizationPoint c1 = QuantizationPoint.find(g).stream().filter(p -> p.anchor().equals("c1")).findFirst()
                .orElseThrow();
        assertEquals(List.of(OpKind.RELU, OpKind.MINIMUM), c1.activations().stream().map(g::kind).toList());
        TensorRange r = RangeSource.batchNorm(6, input).ranges(g, List.of(c1)).get(0).range();
        INDArray clip = g.constant(g.inputs(c1.activations().get(1)).stream().filter(g::isConstant).findFirst().orElseThrow());
        assertEquals(0, r.min());
        assertTrue(r.max() <= clip.maxNumber().doubleValue() + 1e-9, r + " exceeds clip " + clip.maxNumber());

        QuantScheme w4 = QuantScheme.perTensor(4, false);
        Network corrected = Pipeline.of(new CorrectBiasAnalytically(w4), new QuantizeWeights(w4),
                new InsertFakeQuant(8, RangeSource.batchNorm(6, input))).run(prepared.network()).network();
        Network plain = Pipeline.of(new QuantizeWeights(w4), new InsertFakeQuant(8, RangeSource.batchNorm(6, input)))
                .run(prepared.network()).network();
        assertTrue(GraphView.of(corrected).isWellFormed());
        double with = meanError(corrected, n.net(), n.calibration());
        double without = meanError(plain, n.net(), n.calibration());
        assertTrue(with < 0.5 * without, "mean output error with bias correction " + with + ", without " + without);

        QuantScheme w8 = QuantScheme.perTensor(8, false);
        Network w8a8 = Pipeline.of(new CorrectBiasAnalytically(w8), new QuantizeWeights(w8),
                new InsertFakeQuant(8, RangeSource.batchNorm(6, input))).run(prepared.network()).network();
        double err = SyntheticNets.relativeError(w8a8.output(n.calibration()), n.net().output(n.calibration()));
        assertTrue(err < 0.1, "W8A8 relative error " + err);
    }
}
