package org.dfq4j.rewrite.quant;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.List;
import org.dfq4j.rewrite.engine.Pipeline;
import org.dfq4j.rewrite.graph.Network;
import org.dfq4j.rewrite.graph.TensorRange;
import org.dfq4j.rewrite.graph.WeightLayer;
import org.dfq4j.rewrite.view.GraphView;
import org.junit.jupiter.api.Test;
import org.nd4j.linalg.api.ndarray.INDArray;

class QuantizeBiasesTest {

    private static final RangeSource BN = RangeSource.batchNorm(6, new TensorRange(-4, 4));

    @Test
    void biasesOfLayersReadingQuantizedTensorsLandOnTheInt32GridWithinHalfALevel() {
        QuantTestNets.Calibrated c = QuantTestNets.residual(21);
        for (QuantScheme scheme : List.of(QuantScheme.perTensor(8, false), QuantScheme.perChannel(8, true))) {
            Network before = Pipeline.of(new QuantizeWeights(scheme), new InsertFakeQuant(8, BN)).run(c.net()).network();
            Network after = Pipeline.of(new QuantizeBiases()).run(before).network();
            GraphView g = GraphView.of(after);
            int rounded = 0;
            for (WeightLayer l : g.weightLayers()) {
                INDArray b0 = GraphView.of(before).constant(l.bias());
                INDArray b1 = g.constant(l.bias());
                ActivationQuantizer in = QuantizeBiases.inputQuantizer(g, l);
                if (in == null) {
                    assertEquals(b0, b1, l.op() + " reads a float tensor: its bias stays");
                    continue;
                }
                rounded++;
                float[] s = QuantizeBiases.biasScales(in, WeightQuantizers.of(after, l.weights()).orElseThrow());
                for (int k = 0; k < b1.length(); k++) {
                    float scale = s[s.length == 1 ? 0 : k];
                    double levels = b1.getFloat(k) / (double) scale;
                    assertEquals(Math.rint(levels), levels, 1e-3, l.op() + " channel " + k + " is on the int32 grid");
                    assertTrue(Math.abs(b1.getFloat(k) - b0.getFloat(k)) <= 0.5 * scale * (1 + 1e-5),
                            l.op() + " channel " + k + " moved more than half a level");
                }
            }
            // c1 reads the input, d1, c2 (via the clip's fake-quant), c3 read fake-quantized tensors; fc reads a pool
            assertEquals(4, rounded, scheme.toString());
        }
    }
}
