package org.dfq4j.rewrite.transform;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.List;
import org.dfq4j.rewrite.engine.Pipeline;
import org.dfq4j.rewrite.engine.RewriteDriver;
import org.dfq4j.rewrite.engine.RewriteLog;
import org.dfq4j.rewrite.engine.Rewritten;
import org.dfq4j.rewrite.graph.Network;
import org.dfq4j.rewrite.testing.SyntheticMobileNetV2;
import org.dfq4j.rewrite.testing.SyntheticNets;
import org.dfq4j.rewrite.view.GraphView;
import org.junit.jupiter.api.Test;
import org.nd4j.linalg.api.ndarray.INDArray;

/**
 * The whole DFQ rewrite pipeline on MobileNetV2's structure: exact in FP32 and well-formed. How fast it
 * runs is a benchmark number, not a test ({@code dfq bench} reports the DFQ pipeline's time).
 */
class MobileNetV2PipelineTest {

    private static final Pipeline DFQ = Pipeline.of(RewriteDriver.of(new FoldBatchNorm()), new EliminateDeadChannels(),
            CrossLayerEqualization.keepingRelu6(), new AbsorbHighBias());

    @Test
    void pipelineKeepsFp32() {
        SyntheticNets nets = new SyntheticNets("mobilenetv2", 61, 3, 16);
        Network net = SyntheticMobileNetV2.build(nets, 10);
        GraphView g = GraphView.of(net);
        assertEquals(53, g.weightLayers().size());
        INDArray expected = net.output(nets.calibration());

        Rewritten r = DFQ.run(net);

        List<RewriteLog.Entry> cle = r.log().entries("CrossLayerEqualization");
        RewriteLog.Entry summary = cle.get(cle.size() - 1);
        System.out.println(summary.line());

        assertEquals(Boolean.TRUE, summary.values().get("converged"), summary.line());
        // expand -> dw -> project in 16 blocks, stem -> dw -> project in block 0, the projections of the two
        // single-block stages into the next conv, and head -> logits
        assertEquals(16 * 2 + 2 + 1 + 1 + 1, (int) summary.number("pairs"));
        assertEquals(52.0, r.log().entries("FoldBatchNorm").get(52).number("count"));
        // folding, dead channels (none here) and CLE with ReLU6 kept as a clip are exact; with these
        // statistics (beta < 3 |gamma|) absorption only moves all of beta through the two projections
        // that feed a 1x1 conv with no activation between, which is exact too: the output must not change.
        List<RewriteLog.Entry> absorbed = r.log().entries("AbsorbHighBias").stream()
                .filter(e -> e.message().startsWith("absorbed bias of")).toList();
        assertEquals(List.of("block0/project", "block16/project"), absorbed.stream().map(e -> e.targets().get(0)).toList());
        for (RewriteLog.Entry e : absorbed) {
            assertEquals("all of beta (no activation)", e.values().get("mode"), e.line());
        }
        double err = SyntheticNets.relativeError(r.network().output(nets.calibration()), expected);
        System.out.printf("relative output change after the pipeline: %.3g%n", err);
        assertTrue(err < 1e-4, "relative output change " + err);
    }
}
