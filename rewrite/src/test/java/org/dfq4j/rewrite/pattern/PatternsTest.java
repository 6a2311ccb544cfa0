package org.dfq4j.rewrite.pattern;

import static org.dfq4j.rewrite.pattern.Patterns.anyOf;
import static org.dfq4j.rewrite.pattern.Patterns.followedBy;
import static org.dfq4j.rewrite.pattern.Patterns.named;
import static org.dfq4j.rewrite.pattern.Patterns.op;
import static org.dfq4j.rewrite.pattern.Patterns.through;
import static org.dfq4j.rewrite.pattern.Patterns.weightLayer;
import static org.dfq4j.rewrite.pattern.Patterns.where;
import static org.dfq4j.rewrite.pattern.Patterns.withSingleConsumer;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.List;
import org.dfq4j.rewrite.graph.OpKind;
import org.dfq4j.rewrite.graph.Padding;
import org.dfq4j.rewrite.testing.SyntheticNets;
import org.dfq4j.rewrite.view.GraphView;
import org.junit.jupiter.api.Test;
import org.nd4j.autodiff.samediff.SDVariable;

class PatternsTest {

    private static final Pattern PAIR = through(named("first", withSingleConsumer(weightLayer())),
            op(OpKind.RELU, OpKind.MAX_POOL), named("second", weightLayer()));

    /**
     * conv1 -> relu r1 -> maxpool p -> conv2 -> relu r2 -> {conv3, conv4} ; conv3 -> sigmoid s -> conv5;
     * outputs: conv4, conv5.
     */
    private static GraphView graph() {
        SyntheticNets n = new SyntheticNets("patterns", 3, 2, 6);
        var b = n.builder();
        SDVariable r1 = b.relu("r1", n.conv("conv1", n.input(), 3, 2, 4, 1, Padding.SAME));
        SDVariable p = b.maxPool("p", r1, 2, 2, 2, 2, Padding.VALID);
        SDVariable r2 = b.relu("r2", n.conv("conv2", p, 1, 4, 4, 1, Padding.VALID));
        n.conv("conv4", r2, 1, 4, 3, 1, Padding.VALID);
        SDVariable s = b.sigmoid("s", n.conv("conv3", r2, 1, 4, 4, 1, Padding.VALID));
        n.conv("conv5", s, 1, 4, 2, 1, Padding.VALID);
        return GraphView.of(b.build("conv4", "conv5"));
    }

    @Test
    void opMatchesByTypeAndSaysWhyNot() {
        GraphView g = graph();
        assertTrue(op(OpKind.CONV2D).match(g, g.producer("conv1")).matched());
        MatchResult r = op(OpKind.RELU).match(g, g.producer("conv1"));
        assertFalse(r.matched());
        assertEquals("'" + g.producer("conv1") + "' is conv2d, not relu", r.reason());
        assertThrows(IllegalStateException.class, r::match);
    }

    @Test
    void throughFindsTheChainAndBindsNames() {
        GraphView g = graph();
        MatchResult r = PAIR.match(g, g.producer("conv1"));
        assertTrue(r.matched(), r.reason());
        Match m = r.match();
        assertEquals(g.producer("conv1"), m.anchor());
        assertEquals(g.producer("conv1"), m.op("first"));
        assertEquals(g.producer("conv2"), m.op("second"));
        assertEquals(List.of(g.producer("conv1"), g.producer("r1"), g.producer("p"), g.producer("conv2")), m.ops());
        assertEquals(m.op("second"), m.last());
    }

    @Test
    void fanOutStopsAChain() {
        GraphView g = graph();
        MatchResult r = PAIR.match(g, g.producer("conv2"));
        assertFalse(r.matched());
        assertEquals("'r2' has 2 consumers", r.reason());
    }

    @Test
    void aForeignOpStopsAChainAndTheReasonNamesIt() {
        GraphView g = graph();
        MatchResult r = PAIR.match(g, g.producer("conv3"));
        assertFalse(r.matched());
        assertTrue(r.reason().startsWith("chain from 'conv3' stops at 's' (sigmoid)"), r.reason());
    }

    @Test
    void aNetworkOutputHasNoSoleConsumer() {
        GraphView g = graph();
        MatchResult r = withSingleConsumer(weightLayer()).match(g, g.producer("conv4"));
        assertEquals("'conv4' is a network output", r.reason());
        assertFalse(followedBy(weightLayer(), op(OpKind.RELU)).match(g, g.producer("conv5")).matched());
        assertTrue(followedBy(weightLayer(), op(OpKind.RELU)).match(g, g.producer("conv1")).matched());
    }

    @Test
    void anyOfAndWhere() {
        GraphView g = graph();
        Pattern act = anyOf(op(OpKind.RELU), op(OpKind.SIGMOID));
        assertTrue(act.match(g, g.producer("s")).matched());
        MatchResult no = act.match(g, g.producer("p"));
        assertEquals("'" + g.producer("p") + "' is maxpool2d, not relu; '" + g.producer("p")
                + "' is maxpool2d, not sigmoid", no.reason());
        Pattern wide = where(weightLayer(), (v, m) -> v.constant(v.inputs(m.anchor()).get(1)).size(3) > 3,
                "fewer than 4 output channels");
        assertTrue(wide.match(g, g.producer("conv1")).matched());
        assertEquals("'" + g.producer("conv4") + "': fewer than 4 output channels",
                wide.match(g, g.producer("conv4")).reason());
    }

    @Test
    void weightLayerRejectsNonLayersAndSharedWeights() {
        GraphView g = graph();
        assertFalse(weightLayer().match(g, g.producer("r1")).matched());
        SyntheticNets n = new SyntheticNets("shared", 4, 2, 4);
        var b = n.builder();
        SDVariable c1 = n.conv("c1", n.input(), 1, 2, 2, 1, Padding.VALID);
        var sd = b.sameDiff();
        SDVariable c2 = sd.cnn().conv2d("c2", c1, sd.getVariable("c1/W"), sd.getVariable("c1/b"),
                org.nd4j.linalg.api.ops.impl.layers.convolution.config.Conv2DConfig.builder().kH(1).kW(1)
                        .dataFormat("NCHW").weightsFormat(org.nd4j.enums.WeightsFormat.YXIO).build());
        GraphView shared = GraphView.of(b.build(c2.name()));
        assertEquals("layer 'c1': 'c1/W' is shared with other ops",
                weightLayer().match(shared, shared.producer("c1")).reason());
    }
}
