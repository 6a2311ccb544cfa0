package org.dfq4j.rewrite.quant;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.Map;
import org.dfq4j.rewrite.graph.OpKind;
import org.dfq4j.rewrite.graph.ChannelStats;
import org.dfq4j.rewrite.graph.Network;
import org.dfq4j.rewrite.graph.NetworkBuilder;
import org.dfq4j.rewrite.graph.Padding;
import org.dfq4j.rewrite.graph.WeightLayer;
import org.dfq4j.rewrite.view.GraphView;
import org.junit.jupiter.api.Test;
import org.nd4j.autodiff.samediff.SDVariable;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.factory.Nd4j;

class ChannelDistributionsTest {

    /** input[2,3,3] -> c1 conv -> bn (unfolded) -> relu -> c2 conv 1x1 -> sigmoid -> c3 ; relu -> flatten -> fc. */
    private static Network net() {
        NetworkBuilder b = new NetworkBuilder("d", 2, 3, 3);
        SDVariable c1 = b.conv2d("c1", b.input(), Nd4j.ones(DataType.FLOAT, 1, 1, 2, 2), null, 1, 1, Padding.SAME, 1, 1);
        SDVariable bn = b.batchNorm("bn", c1, Nd4j.zeros(DataType.FLOAT, 2), Nd4j.ones(DataType.FLOAT, 2),
                Nd4j.createFromArray(2f, -0.5f), Nd4j.createFromArray(1f, -3f), 1e-3);
        SDVariable r = b.relu("r", bn);
        SDVariable c2 = b.conv2d("c2", r, Nd4j.ones(DataType.FLOAT, 1, 1, 2, 2), null, 1, 1, Padding.SAME, 1, 1);
        b.conv2d("c3", b.sigmoid("s", c2), Nd4j.ones(DataType.FLOAT, 1, 1, 2, 2), null, 1, 1, Padding.SAME, 1, 1);
        b.dense("fc", b.flatten("flat", r, 18), Nd4j.ones(DataType.FLOAT, 18, 4), null);
        return b.build("c3", "fc").withStats(Map.of("c2", new ChannelStats(new double[] {0.5, 1},
                new double[] {1, 2})));
    }

    @Test
    void unfoldedBatchNormReluAndFlattenArePropagated() {
        GraphView g = GraphView.of(net());
        ChannelDistributions d = ChannelDistributions.propagate(g);
        ChannelDistribution r = d.of("r").orElseThrow();
        assertEquals(ClippedNormal.normal(1, 2).clip(0, Double.POSITIVE_INFINITY), r.channel(0));
        assertEquals(ClippedNormal.normal(-3, 0.5).clip(0, Double.POSITIVE_INFINITY), r.channel(1));
        WeightLayer fc = g.weightLayers().stream().filter(l -> l.output().equals("fc")).findFirst().orElseThrow();
        ChannelDistribution in = d.inputOf(fc, 18).orElseThrow();
        assertEquals(18, in.size());
        assertEquals(r.channel(0), in.channel(8)); // [C,H,W] flattened: features 0..8 are channel 0
        assertEquals(r.channel(1), in.channel(9));
    }

    @Test
    void unmodelledOpsAndLayersWithoutStatisticsSayWhy() {
        GraphView g = GraphView.of(net());
        ChannelDistributions d = ChannelDistributions.propagate(g);
        assertTrue(d.of("c1").isEmpty());
        assertTrue(d.whyUnknown("c1").contains("no BatchNorm statistics"), d.whyUnknown("c1"));
        assertTrue(d.whyUnknown("input").contains("network input"), d.whyUnknown("input"));
        assertTrue(d.whyUnknown("s").contains(OpKind.SIGMOID.opName()), d.whyUnknown("s"));
        assertTrue(d.of("c2").isPresent());
    }
}
