package org.dfq4j.rewrite.quant;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.List;
import java.util.TreeSet;
import org.dfq4j.rewrite.DfqException;
import org.dfq4j.rewrite.engine.Pipeline;
import org.dfq4j.rewrite.engine.RewriteLog;
import org.dfq4j.rewrite.engine.Rewritten;
import org.dfq4j.rewrite.graph.Network;
import org.dfq4j.rewrite.graph.WeightLayer;
import org.dfq4j.rewrite.view.GraphView;
import org.junit.jupiter.api.Test;
import org.nd4j.linalg.api.ndarray.INDArray;

class QuantizeWeightsTest {

    @Test
    void everyWeightTensorIsOnItsGridAndBiasesAreUntouched() {
        Network net = QuantTestNets.residual(31).net();
        for (QuantScheme s : List.of(QuantScheme.perTensor(4, false), QuantScheme.perChannel(6, true))) {
            Rewritten r = Pipeline.of(new QuantizeWeights(s)).run(net);
            Network q = r.network();
            List<WeightLayer> layers = GraphView.of(q).weightLayers();
            assertEquals(5, layers.size());
            for (WeightLayer l : layers) {
                INDArray w0 = net.sameDiff().getArrForVarName(l.weights());
                INDArray w1 = q.sameDiff().getArrForVarName(l.weights());
                QuantizedTensor expected = QuantizedTensor.of(w0, s, l.kind());
                assertTrue(expected.values().equalsWithEps(w1, 0), l.output());
                int channels = expected.channels().size();
                float[] v = w1.dup('c').data().asFloat();
                for (int c = 0; c < channels; c++) { // levels per channel
                    TreeSet<Float> levels = new TreeSet<>();
                    for (int i = c; i < v.length; i += channels) {
                        levels.add(v[i]);
                    }
                    assertTrue(levels.size() <= s.levels(), l.output() + " channel " + c + ": " + levels.size());
                }
                assertTrue(net.sameDiff().getArrForVarName(l.bias()).equalsWithEps(
                        q.sameDiff().getArrForVarName(l.bias()), 0), "bias of " + l.output() + " changed");
                RewriteLog.Entry e = r.log().entries("QuantizeWeights").stream()
                        .filter(x -> x.targets().equals(List.of(l.output()))).findFirst().orElseThrow();
                assertEquals(expected.sqnrDb(), e.number("sqnrDb"), 1e-9);
                assertEquals(expected.minScale(), e.number("minScale"), 1e-12);
                assertEquals(expected.maxScale(), e.number("maxScale"), 1e-12);
            }
            assertEquals(s.toString(), q.properties().get(QuantizeWeights.PROPERTY));
        }
    }

    @Test
    void quantizingTwiceIsRefused() {
        Network net = QuantTestNets.residual(32).net();
        QuantScheme s = QuantScheme.perTensor(8, false);
        assertThrows(DfqException.class, () -> Pipeline.of(new QuantizeWeights(s), new QuantizeWeights(s)).run(net));
    }
}
