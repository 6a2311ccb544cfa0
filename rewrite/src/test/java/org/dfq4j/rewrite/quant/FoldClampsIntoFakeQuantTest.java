package org.dfq4j.rewrite.quant;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.List;
import org.dfq4j.rewrite.graph.OpKind;
import org.dfq4j.rewrite.engine.Pipeline;
import org.dfq4j.rewrite.engine.RewriteDriver;
import org.dfq4j.rewrite.engine.RewriteLog;
import org.dfq4j.rewrite.engine.Rewritten;
import org.dfq4j.rewrite.graph.Network;
import org.dfq4j.rewrite.graph.NetworkBuilder;
import org.dfq4j.rewrite.graph.Padding;
import org.dfq4j.rewrite.transform.CrossLayerEqualization;
import org.dfq4j.rewrite.transform.FoldBatchNorm;
import org.junit.jupiter.api.Test;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;

class FoldClampsIntoFakeQuantTest {

    /** conv -> relu6 -> depthwise -> relu -> conv, with calibrated ranges. */
    private static Network net() {
        Nd4j.getRandom().setSeed(5);
        NetworkBuilder b = new NetworkBuilder("clamps", 3, 12, 12);
        var c = b.conv2d("c1", b.input(), Nd4j.randn(DataType.FLOAT, 3, 3, 3, 8).muli(0.5), Nd4j.rand(DataType.FLOAT, 8),
                1, 1, Padding.SAME, 1, 1);
        var r6 = b.relu6("r6", c);
        var d = b.depthwiseConv2d("d1", r6, Nd4j.randn(DataType.FLOAT, 3, 3, 8, 1).muli(0.5), Nd4j.rand(DataType.FLOAT, 8),
                1, 1, Padding.SAME, 1, 1);
        var r = b.relu("r", d);
        b.conv2d("c2", r, Nd4j.randn(DataType.FLOAT, 1, 1, 8, 4), null, 1, 1, Padding.SAME, 1, 1);
        return b.build("c2");
    }

    private static long count(Network n, OpKind type) {
        return n.sameDiff().getOps().values().stream().filter(o -> OpKind.of(o) == type).count();
    }

    @Test
    void removesClampsTheFakeQuantPerformsAndChangesNothing() {
        INDArray x = Nd4j.rand(DataType.FLOAT, 6, 3, 12, 12).muli(2).subi(1);
        for (boolean keepRelu6 : new boolean[] {false, true}) {
            Network base = Pipeline.of(RewriteDriver.of(new FoldBatchNorm()),
                    new CrossLayerEqualization(keepRelu6, 1e-4, 100)).run(net()).network();
            RangeSource ranges = RangeSource.calibration(List.of(x));
            Network quantized = Pipeline.of(new InsertFakeQuant(8, ranges)).run(base).network();
            Rewritten run = Pipeline.of(new InsertFakeQuant(8, ranges), RewriteDriver.of(new FoldClampsIntoFakeQuant())).run(base);
            Network folded = run.network();
            assertEquals(quantized.output(x), folded.output(x), "folding must be exact (keepRelu6=" + keepRelu6 + ")");
            long before = count(quantized, OpKind.RELU) + count(quantized, OpKind.RELU6);
            long after = count(folded, OpKind.RELU) + count(folded, OpKind.RELU6);
            assertTrue(after < before, "expected clamps removed: " + before + " -> " + after);
            // the rule's summary counts what went, by kind
            RewriteLog.Entry summary = run.log().entries("FoldClampsIntoFakeQuant").stream()
                    .filter(e -> e.targets().isEmpty()).reduce((a, b) -> b).orElseThrow();
            assertEquals("removed clamps the next fake-quant performs: "
                    + (count(quantized, OpKind.RELU) - count(folded, OpKind.RELU)) + " relu, "
                    + (count(quantized, OpKind.RELU6) - count(folded, OpKind.RELU6)) + " relu6, "
                    + (count(quantized, OpKind.MINIMUM) - count(folded, OpKind.MINIMUM)) + " per-channel clips",
                    summary.message());
        }
    }

    @Test
    void keepsAClampTheRangeDoesNotCover() {
        // calibrated on inputs shifted below zero: only clamps whose fake-quant range covers them may go
        Network base = Pipeline.of(RewriteDriver.of(new FoldBatchNorm())).run(net()).network();
        INDArray x = Nd4j.rand(DataType.FLOAT, 2, 3, 12, 12);
        Network withFq = Pipeline.of(new InsertFakeQuant(8, RangeSource.calibration(List.of(x.sub(0.5))))).run(base).network();
        Network folded = Pipeline.of(RewriteDriver.of(new FoldClampsIntoFakeQuant())).run(withFq).network();
        assertEquals(count(withFq, OpKind.RELU) + count(withFq, OpKind.RELU6) - removable(withFq),
                count(folded, OpKind.RELU) + count(folded, OpKind.RELU6));
        assertEquals(withFq.output(x), folded.output(x));
    }

    /** Clamps whose fake-quant range starts at or above 0 (the only ones that may go). */
    private static long removable(Network n) {
        long k = 0;
        var sd = n.sameDiff();
        for (var op : sd.getOps().values()) {
            if (OpKind.of(op) != OpKind.FAKE_QUANT) {
                continue;
            }
            String in = op.getInputsToOp().get(0);
            var producer = sd.getVariableOutputOp(in);
            double lo = sd.getArrForVarName(op.getInputsToOp().get(1)).getDouble(0);
            double hi = sd.getArrForVarName(op.getInputsToOp().get(2)).getDouble(0);
            if (producer != null && (OpKind.of(producer) == OpKind.RELU && lo >= 0
                    || OpKind.of(producer) == OpKind.RELU6 && lo >= 0 && hi <= 6)) {
                k++;
            }
        }
        return k;
    }
}
