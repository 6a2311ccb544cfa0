package org.dfq4j.rewrite.transform;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.List;
import org.dfq4j.rewrite.graph.OpKind;
import org.dfq4j.rewrite.engine.RewriteDriver;
import org.dfq4j.rewrite.engine.RewriteLog;
import org.dfq4j.rewrite.engine.Rewritten;
import org.dfq4j.rewrite.graph.Network;
import org.dfq4j.rewrite.graph.Padding;
import org.dfq4j.rewrite.testing.SyntheticNets;
import org.dfq4j.rewrite.view.GraphView;
import org.junit.jupiter.api.Test;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.ops.transforms.Transforms;

class ReplaceRelu6Test {

    @Test
    void relu6BecomesReluButHardSwishStays() {
        SyntheticNets n = new SyntheticNets("relu6", 6, 2, 4);
        var b = n.builder();
        var c1 = n.conv("c1", n.input(), 1, 2, 3, 1, Padding.VALID);
        c1 = n.builder().sameDiff().math().mul("c1x10", c1, b.constant("ten", org.nd4j.linalg.factory.Nd4j.scalar(10f)));
        var a = b.relu6("a", c1);
        var hs = b.hardSwish("hs", n.conv("c2", a, 1, 3, 3, 1, Padding.VALID));
        Network net = b.build(hs.name());
        INDArray pre = n.evaluate(c1);
        assertTrue(pre.maxNumber().doubleValue() > 6, "some pre-activations exceed 6");

        Rewritten r = RewriteDriver.of(new ReplaceRelu6()).run(net);
        GraphView g = GraphView.of(r.network());
        assertEquals(OpKind.RELU, g.kind(g.producer("a")));
        assertEquals(OpKind.RELU6, g.kind(g.producer("hs/relu6")), "h-swish keeps its relu6");
        INDArray a2 = r.network().run(n.calibration(), List.of("a")).get("a");
        assertEquals(0, SyntheticNets.relativeError(a2, Transforms.relu(pre, true)), 1e-6);
        List<RewriteLog.Entry> log = r.log().entries("ReplaceRelu6");
        assertEquals(3, log.size());
        assertEquals(1.0, log.get(2).number("count"));
        assertEquals("ReplaceRelu6: kept: '" + GraphView.of(net).producer("hs/relu6")
                + "': relu6 is part of an h-swish (input is x + 3) [hs/relu6]", log.get(1).line());
        assertEquals("ReplaceRelu6: relu6 -> relu (changes FP32 where the input exceeds 6) [a]",
                r.log().entries().get(0).line());
        GraphView before = GraphView.of(net);
        assertEquals(List.of(OpKind.CONV2D, OpKind.MULTIPLY, OpKind.RELU6, OpKind.CONV2D, OpKind.ADD_SCALAR, OpKind.RELU6, OpKind.MULTIPLY, OpKind.DIV_SCALAR),
                before.ops().stream().map(before::kind).toList());
        assertEquals(List.of(OpKind.CONV2D, OpKind.MULTIPLY, OpKind.RELU, OpKind.CONV2D, OpKind.ADD_SCALAR, OpKind.RELU6, OpKind.MULTIPLY, OpKind.DIV_SCALAR),
                g.ops().stream().map(g::kind).toList());
    }
}
