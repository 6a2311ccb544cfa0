package org.dfq4j.rewrite.pattern;

import static org.dfq4j.rewrite.pattern.Patterns.anyOf;
import static org.dfq4j.rewrite.pattern.Patterns.anyValue;
import static org.dfq4j.rewrite.pattern.Patterns.capture;
import static org.dfq4j.rewrite.pattern.Patterns.commutative;
import static org.dfq4j.rewrite.pattern.Patterns.constant;
import static org.dfq4j.rewrite.pattern.Patterns.filter;
import static org.dfq4j.rewrite.pattern.Patterns.followedByAny;
import static org.dfq4j.rewrite.pattern.Patterns.layer;
import static org.dfq4j.rewrite.pattern.Patterns.op;
import static org.dfq4j.rewrite.pattern.Patterns.operand;
import static org.dfq4j.rewrite.pattern.Patterns.operands;
import static org.dfq4j.rewrite.pattern.Patterns.placeholder;
import static org.dfq4j.rewrite.pattern.Patterns.producedBy;
import static org.dfq4j.rewrite.pattern.Patterns.required;
import static org.dfq4j.rewrite.pattern.Patterns.soleUse;
import static org.dfq4j.rewrite.pattern.Patterns.where;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.List;
import org.dfq4j.rewrite.graph.OpKind;
import org.dfq4j.rewrite.graph.Padding;
import org.dfq4j.rewrite.graph.WeightLayer;
import org.dfq4j.rewrite.testing.SyntheticNets;
import org.dfq4j.rewrite.view.GraphView;
import org.junit.jupiter.api.Test;
import org.nd4j.autodiff.samediff.SDVariable;
import org.nd4j.linalg.factory.Nd4j;

/** Matching backwards along operands: producers, positions, constants, either order, typed captures, refusals. */
class OperandPatternsTest {

    private static final Capture<WeightLayer> LAYER = Capture.of("layer", WeightLayer.class);

    /**
     * input -> conv c1 -> relu r -> minimum(r, t) clip -> add(conv c2(input), clip) sum -> relu out;
     * outputs: out and r (so r has two uses).
     */
    private static GraphView graph() {
        SyntheticNets n = new SyntheticNets("operands", 3, 2, 4);
        var b = n.builder();
        SDVariable r = b.relu("r", n.conv("c1", n.input(), 1, 2, 3, 1, Padding.VALID));
        SDVariable clip = b.sameDiff().math().min("clip", r, b.constant("t", Nd4j.ones(1, 3, 1, 1).muli(2)));
        SDVariable sum = b.add("sum", n.conv("c2", n.input(), 1, 2, 3, 1, Padding.VALID), clip);
        b.relu("out", sum);
        return GraphView.of(b.build("out", "r"));
    }

    @Test
    void operandsByPositionWithProducersAndConstants() {
        GraphView g = graph();
        String clip = g.producer("clip");
        Pattern clipOfRelu = operands(op(OpKind.MINIMUM), producedBy(op(OpKind.RELU)), constant());
        MatchResult m = clipOfRelu.match(g, clip);
        assertTrue(m.matched(), m.reason());
        assertEquals(List.of(clip, g.producer("r")), m.match().ops(), "the producer joins the match after the anchor");
        assertEquals(clip, m.match().last(), "an operand does not move where a chain continues");
        assertEquals("t", m.match().var("constant"));
        MatchResult swapped = operands(op(OpKind.MINIMUM), constant(), producedBy(op(OpKind.RELU))).match(g, clip);
        assertFalse(swapped.matched());
        assertFalse(swapped.refused(), "a constant where a constant is not: not a candidate");
        assertEquals("'r' is not a constant", swapped.reason());
    }

    @Test
    void commutativeTriesBothOrdersAndCapturesTyped() {
        GraphView g = graph();
        Pattern sumOfLayerAndClip = commutative(op(OpKind.ADD), producedBy(op(OpKind.MINIMUM)),
                producedBy(capture(LAYER, layer())));
        MatchResult m = sumOfLayerAndClip.match(g, g.producer("sum"));
        assertTrue(m.matched(), m.reason());
        assertEquals("c2", m.match().get(LAYER).output());
        assertEquals(WeightLayer.Kind.CONV, m.match().get(LAYER).kind());
        assertEquals(List.of(m.match().get(LAYER)), m.match().getAll(LAYER));
        MatchResult none = commutative(op(OpKind.ADD), placeholder(), anyValue()).match(g, g.producer("sum"));
        assertFalse(none.matched());
        assertTrue(none.reason().contains("is not a placeholder"), none.reason());
    }

    @Test
    void soleUseAndRequiredMakeRefusals() {
        GraphView g = graph();
        // r is also a network output: the clip is not its sole use, and that is a refusal worth reporting
        Pattern p = operand(op(OpKind.MINIMUM), 0, soleUse(producedBy(op(OpKind.RELU))));
        MatchResult r = p.match(g, g.producer("clip"));
        assertTrue(r.refused());
        assertEquals("'r' is a network output", r.reason());
        // a producer of the wrong kind is no candidate, unless the operand is required
        Pattern relu = op(OpKind.RELU);
        assertFalse(operand(relu, 0, producedBy(op(OpKind.CONV2D))).match(g, g.producer("out")).refused());
        assertTrue(operand(relu, 0, required(producedBy(op(OpKind.CONV2D)))).match(g, g.producer("out")).refused());
        // not a candidate at all
        MatchResult notMin = p.match(g, g.producer("sum"));
        assertFalse(notMin.matched() || notMin.refused());
    }

    @Test
    void whereRefusesFilterDoesNotAndAnyOfKeepsTheKind() {
        GraphView g = graph();
        String c1 = g.producer("c1");
        Pattern wide = where(layer(), (v, m) -> v.outChannels(v.weightLayer(m.anchor())) > 3, "3 channels or fewer");
        Pattern wideOnly = filter(layer(), (v, m) -> v.outChannels(v.weightLayer(m.anchor())) > 3, "3 channels or fewer");
        assertTrue(wide.match(g, c1).refused());
        assertFalse(wideOnly.match(g, c1).refused());
        assertEquals("'" + c1 + "': 3 channels or fewer", wideOnly.match(g, c1).reason());
        assertTrue(anyOf(wideOnly, wide).match(g, c1).refused(), "one refusal makes the alternatives a refusal");
        assertFalse(anyOf(wideOnly, op(OpKind.RELU)).match(g, c1).refused());
    }

    @Test
    void followedByAnyTakesEveryActivationThatFollows() {
        GraphView g = graph();
        Capture<String> act = Capture.of("act", String.class);
        TypedPattern<String> activation = new TypedPattern<>() {
            @Override
            public MatchResult match(GraphView v, String op) {
                return v.is(op, OpKind.RELU, OpKind.MINIMUM) ? MatchResult.of(op) : MatchResult.noMatch("no");
            }

            @Override
            public String value(GraphView v, String op) {
                return v.output(op);
            }
        };
        MatchResult m = followedByAny(layer(), capture(act, activation)).match(g, g.producer("c2"));
        assertTrue(m.matched());
        assertEquals(List.of(), m.match().getAll(act), "c2 feeds an add: nothing to fuse");
        MatchResult s = followedByAny(op(OpKind.ADD), capture(act, activation)).match(g, g.producer("sum"));
        assertEquals(List.of("out"), s.match().getAll(act));
        assertEquals(g.producer("out"), s.match().last());
    }
}
