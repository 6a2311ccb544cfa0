package org.dfq4j.rewrite.view;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.List;
import org.dfq4j.rewrite.graph.OpKind;
import org.dfq4j.rewrite.graph.Network;
import org.dfq4j.rewrite.graph.Padding;
import org.dfq4j.rewrite.graph.WeightLayer;
import org.dfq4j.rewrite.testing.SyntheticNets;
import org.junit.jupiter.api.Test;
import org.nd4j.autodiff.samediff.SDVariable;

class GraphViewTest {

    /** input -> conv1 -> relu "r" -> {conv2, conv3} -> add "sum" (output); r is also an output. */
    private static Network residual() {
        SyntheticNets n = new SyntheticNets("view", 2, 3, 5);
        SDVariable c1 = n.conv("conv1", n.input(), 3, 3, 4, 1, Padding.SAME);
        SDVariable r = n.builder().relu("r", c1);
        SDVariable c2 = n.conv("conv2", r, 1, 4, 4, 1, Padding.VALID);
        SDVariable c3 = n.conv("conv3", r, 3, 4, 4, 1, Padding.SAME);
        n.builder().add("sum", c2, c3);
        return n.builder().build("sum", "r");
    }

    @Test
    void producersConsumersAndFanOut() {
        GraphView g = GraphView.of(residual());
        assertTrue(g.isWellFormed(), g.problems().toString());
        String conv1 = g.producer("conv1");
        assertEquals(OpKind.CONV2D, g.kind(conv1));
        assertEquals(List.of("input", "conv1/W", "conv1/b"), g.inputs(conv1));
        assertEquals("conv1", g.output(conv1));
        assertEquals(List.of(g.producer("conv2"), g.producer("conv3")), g.consumers("r"));
        assertEquals(3, g.fanOut("r"));
        assertEquals(1, g.fanOut("sum"));
        assertNull(g.soleConsumer("r"));
        assertNull(g.soleConsumer("sum"));
        assertEquals(g.producer("r"), g.soleConsumer("conv1"));
        assertNull(g.producer("conv1/W"));
        assertTrue(g.isConstant("conv1/W"));
        assertFalse(g.isConstant("input"));
        assertTrue(g.isPlaceholder("input"));
        assertEquals(List.of("input"), g.placeholders());
        assertEquals(List.of(3L * 3 * 3 * 4), List.of(g.constant("conv1/W").length()));
        assertTrue(g.isNetworkOutput("r"));
        assertFalse(g.isNetworkOutput("conv1"));
    }

    @Test
    void opsAreTopologicallyOrdered() {
        GraphView g = GraphView.of(residual());
        List<String> order = g.ops();
        assertEquals(residual().sameDiff().getOps().size(), order.size());
        for (int i = 0; i < order.size(); i++) {
            for (String in : g.inputs(order.get(i))) {
                String p = g.producer(in);
                if (p != null) {
                    assertTrue(order.indexOf(p) < i, p + " must come before " + order.get(i));
                }
            }
        }
        assertEquals(List.of("conv1", "conv2", "conv3"), g.weightLayers().stream().map(WeightLayer::output).toList());
    }

    @Test
    void aBrokenConsumerListIsReported() {
        Network n = residual();
        n.sameDiff().getVariables().get("r").getInputsForOp().clear();
        GraphView g = GraphView.of(n);
        assertFalse(g.isWellFormed());
        assertTrue(g.problems().get(0).contains("does not list its consumer"), g.problems().toString());
    }
}
