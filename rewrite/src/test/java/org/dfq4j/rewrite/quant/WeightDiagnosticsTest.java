package org.dfq4j.rewrite.quant;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.List;
import org.dfq4j.rewrite.engine.Pipeline;
import org.dfq4j.rewrite.graph.Network;
import org.dfq4j.rewrite.graph.WeightLayer;
import org.junit.jupiter.api.Test;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;
import org.nd4j.linalg.indexing.NDArrayIndex;

class WeightDiagnosticsTest {

    @Test
    void channelRangeRatiosAndSqnrOfAKnownTensor() {
        // depthwise [1,2,3,1]: channel c holds {-a_c, +a_c}: ranges 2, 20, 0 (a zero channel), i.e. ratio 10
        INDArray w = Nd4j.zeros(DataType.FLOAT, 1, 2, 3, 1);
        w.putScalar(new long[] {0, 0, 0, 0}, -1);
        w.putScalar(new long[] {0, 1, 0, 0}, 1);
        w.putScalar(new long[] {0, 0, 1, 0}, -10);
        w.putScalar(new long[] {0, 1, 1, 0}, 10);
        QuantScheme s = QuantScheme.perTensor(8, true);
        WeightDiagnostics d = WeightDiagnostics.of("dw", WeightLayer.Kind.DEPTHWISE, w, s);
        assertEquals(3, d.channels());
        assertEquals(10, d.rangeMaxOverMin(), 1e-12);
        assertEquals(20.0 / 11, d.rangeMaxOverMedian(), 1e-12);
        assertEquals(1, d.zeroChannels());
        assertEquals(QuantizedTensor.of(w, s, WeightLayer.Kind.DEPTHWISE).sqnrDb(), d.sqnrDb());
        assertEquals(WeightLayer.Kind.DEPTHWISE, d.kind());
    }

    @Test
    void oneRecordPerLayerAndQuantizedWeightsQuantizeLosslessly() {
        Network net = QuantTestNets.residual(41).net();
        INDArray c1 = net.sameDiff().getArrForVarName("c1/W");
        c1.get(NDArrayIndex.all(), NDArrayIndex.all(), NDArrayIndex.all(), NDArrayIndex.point(0)).muli(50);
        QuantScheme s = QuantScheme.perTensor(8, false);
        List<WeightDiagnostics> before = WeightDiagnostics.of(net, s);
        assertEquals(List.of("c1", "d1", "c2", "c3", "fc"), before.stream().map(WeightDiagnostics::layer).toList());
        assertTrue(before.get(0).rangeMaxOverMin() > 20, "scaled channel dominates: " + before.get(0));
        Network q = Pipeline.of(new QuantizeWeights(s)).run(net).network();
        for (WeightDiagnostics d : WeightDiagnostics.of(q, s)) {
            assertTrue(d.sqnrDb() > 100, "re-quantizing quantized weights loses ~nothing: " + d);
        }
    }
}
