package org.dfq4j.rewrite.quant;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.dfq4j.rewrite.engine.GraphEditor;
import org.dfq4j.rewrite.engine.Pipeline;
import org.dfq4j.rewrite.engine.Rewritten;
import org.dfq4j.rewrite.graph.Network;
import org.dfq4j.rewrite.graph.WeightLayer;
import org.dfq4j.rewrite.view.GraphView;
import org.junit.jupiter.api.Test;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;

class CorrectBiasEmpiricallyTest {

    private static final QuantScheme W4 = QuantScheme.perTensor(4, false);

    private static INDArray channelMean(INDArray y) {
        return y.rank() == 4 ? y.mean(0, 2, 3) : y.mean(0);
    }

    /** The textbook algorithm: one layer at a time, rerunning the quantized network after each correction. */
    private static Map<String, double[]> sequential(Network quantized, Network reference, INDArray batch) {
        GraphEditor editor = new GraphEditor(quantized);
        Map<String, double[]> out = new LinkedHashMap<>();
        for (WeightLayer l : GraphView.of(quantized).weightLayers()) {
            Network q = editor.network();
            INDArray mq = channelMean(q.run(batch, List.of(l.output())).get(l.output()));
            INDArray mf = channelMean(reference.run(batch, List.of(l.output())).get(l.output()));
            double[] delta = mq.sub(mf).toDoubleVector();
            INDArray b = editor.view().constant(l.bias());
            editor.setConstant(l.bias(), b.sub(Nd4j.createFromArray(delta).castTo(b.dataType())));
            out.put(l.output(), delta);
        }
        return out;
    }

    /** Mean over channels of |channel mean of quantized - channel mean of float| at a layer output. */
    private static double meanError(Network q, Network f, INDArray batch, String var) {
        INDArray a = channelMean(q.run(batch, List.of(var)).get(var));
        INDArray b = channelMean(f.run(batch, List.of(var)).get(var));
        return a.sub(b).norm1Number().doubleValue() / a.length();
    }

    @Test
    void onePassEqualsTheSequentialAlgorithm() {
        QuantTestNets.Calibrated c = QuantTestNets.residual(21);
        Network q = Pipeline.of(new QuantizeWeights(W4),
                new InsertFakeQuant(8, RangeSource.calibration(List.of(c.calibration())))).run(c.net()).network();
        Map<String, double[]> fast = CorrectBiasEmpirically.measureShifts(q, c.net(), c.calibration());
        Map<String, double[]> slow = sequential(q, c.net(), c.calibration());
        assertEquals(slow.keySet(), fast.keySet());
        for (String layer : slow.keySet()) {
            double[] a = slow.get(layer);
            double[] b = fast.get(layer);
            for (int i = 0; i < a.length; i++) {
                assertEquals(a[i], b[i], 1e-4 * (1 + Math.abs(a[i])), layer + "[" + i + "]");
            }
        }
        double largest = slow.values().stream().flatMapToDouble(Arrays::stream).map(Math::abs).max()
                .orElse(0);
        assertTrue(largest > 1e-2, "4-bit weights should shift some mean noticeably, largest " + largest);
    }

    @Test
    void correctionRemovesTheMeanOutputErrorOnTheCalibrationData() {
        QuantTestNets.Calibrated c = QuantTestNets.residual(22);
        List<INDArray> batches = List.of(c.calibration());
        Network plain = Pipeline.of(new QuantizeWeights(W4)).run(c.net()).network();
        Rewritten corrected = Pipeline.of(new CorrectBiasEmpirically(List.of(new QuantizeWeights(W4)), batches),
                new QuantizeWeights(W4)).run(c.net());
        List<String> layers = new ArrayList<>();
        GraphView.of(c.net()).weightLayers().forEach(l -> layers.add(l.output()));
        for (String layer : layers) {
            double before = meanError(plain, c.net(), c.calibration(), layer);
            double after = meanError(corrected.network(), c.net(), c.calibration(), layer);
            assertTrue(after < 1e-4 + 1e-3 * before, layer + ": mean error " + before + " -> " + after);
        }
        assertEquals(layers.size(), (int) corrected.log().entries("CorrectBiasEmpirically").stream()
                .filter(e -> e.values().containsKey("maxAbsShift")).count());
    }
}
