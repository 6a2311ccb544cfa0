package org.dfq4j.rewrite.engine;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.List;
import java.util.Map;
import org.dfq4j.rewrite.graph.OpKind;
import org.dfq4j.rewrite.graph.ChannelStats;
import org.dfq4j.rewrite.graph.Network;
import org.dfq4j.rewrite.graph.Padding;
import org.dfq4j.rewrite.graph.TensorRange;
import org.dfq4j.rewrite.testing.SyntheticNets;
import org.dfq4j.rewrite.view.GraphView;
import org.junit.jupiter.api.Test;
import org.nd4j.autodiff.samediff.SDVariable;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;
import org.nd4j.linalg.ops.transforms.Transforms;

class GraphEditorTest {

    /** input -> conv1 -> bn1 -> relu6 "act" -> conv2 (output). */
    private static SyntheticNets net() {
        SyntheticNets n = new SyntheticNets("editor", 1, 3, 6);
        SDVariable c1 = n.conv("conv1", n.input(), 3, 3, 4, 1, Padding.SAME);
        SDVariable bn = n.calibratedBatchNorm("bn1", c1);
        SDVariable a = n.builder().relu6("act", bn);
        n.conv("conv2", a, 1, 4, 2, 1, Padding.VALID);
        return n;
    }

    @Test
    void setConstantChangesTheOutputAndIsRecorded() {
        SyntheticNets s = net();
        Network n = s.builder().build("conv2");
        INDArray before = n.output(s.calibration());
        GraphEditor e = new GraphEditor(n);
        INDArray b = e.view().constant("conv2/b");
        e.setConstant("conv2/b", b.add(1.0));
        INDArray after = e.network().output(s.calibration());
        assertEquals(0, SyntheticNets.relativeError(after, before.add(1.0)), 1e-6);
        assertEquals(before, n.output(s.calibration()), "the editor works on a copy");
        assertEquals(List.of("setConstant conv2/b"), e.changes());
        assertThrows(IllegalArgumentException.class, () -> e.setConstant("conv2/b", Nd4j.zeros(3)));
        assertThrows(IllegalArgumentException.class, () -> e.setConstant("act", Nd4j.zeros(2)));
    }

    @Test
    void replaceOpKeepsTheOutputNameAndComputesTheNewOp() {
        SyntheticNets s = net();
        Network n = s.builder().build("conv2", "act");
        INDArray bnOut = s.evaluate(n.sameDiff().getVariable("bn1"));
        GraphEditor e = new GraphEditor(n);
        String relu6 = e.view().producer("act");
        e.replaceOp(relu6, x -> x.getSameDiff().nn().relu(x, 0));
        GraphView g = e.view();
        assertTrue(g.isWellFormed(), g.problems().toString());
        assertFalse(g.hasOp(relu6));
        assertEquals(OpKind.RELU, g.kind(g.producer("act")));
        assertEquals(List.of(g.producer("conv2")), g.consumers("act"));
        assertEquals(List.of("conv2", "act"), e.network().outputs());
        INDArray act = e.network().run(s.calibration()).get("act");
        assertEquals(0, SyntheticNets.relativeError(act, Transforms.relu(bnOut, true)), 1e-6);
        assertEquals(OpKind.RELU6, GraphView.of(n).kind(GraphView.of(n).producer("act")), "the editor works on a copy");
    }

    @Test
    void bypassRewiresConsumersAndOutputsAndDropsOrphanConstants() {
        SyntheticNets s = net();
        Network n = s.builder().build("conv2", "bn1").withRecordedRanges(Map.of("bn1", new TensorRange(-3, 3)));
        INDArray conv1 = s.evaluate(n.sameDiff().getVariable("conv1"));
        GraphEditor e = new GraphEditor(n);
        e.bypass(e.view().producer("bn1"));
        GraphView g = e.view();
        assertTrue(g.isWellFormed(), g.problems().toString());
        assertFalse(g.hasVariable("bn1"));
        assertFalse(g.hasVariable("bn1/gamma"));
        Network edited = e.network();
        assertEquals(List.of("conv2", "conv1"), edited.outputs());
        assertEquals(new TensorRange(-3, 3), edited.recordedRanges().get("conv1"));
        assertEquals(List.of(g.producer("act")), g.consumers("conv1"));
        assertEquals(2, g.fanOut("conv1"));
        assertEquals(0, SyntheticNets.relativeError(edited.run(s.calibration()).get("conv1"), conv1), 1e-6);
        // the edited graph still copies and runs
        assertEquals(0, SyntheticNets.relativeError(edited.copy().output(s.calibration()),
                edited.output(s.calibration())), 1e-6);
        assertEquals(List.of("conv2", "bn1"), n.outputs(), "the editor works on a copy");
    }

    /** The view after inserting {@code made} after "act": well-formed, and act now feeds only the inserted op. */
    private static GraphView insertedAfterAct(GraphEditor e, String made) {
        GraphView g = e.view();
        assertTrue(g.isWellFormed(), g.problems().toString());
        assertEquals(List.of(g.producer(made)), g.consumers("act"));
        return g;
    }

    @Test
    void insertAfterRewiresEveryOldConsumerAndTheOutput() {
        SyntheticNets s = net();
        Network n = s.builder().build("conv2", "act");
        INDArray act = n.run(s.calibration()).get("act");
        GraphEditor e = new GraphEditor(n);
        String limit = e.addConstant("act/limit", Nd4j.createFromArray(1f, 2f, 3f, 4f).reshape(1, 4, 1, 1));
        String made = e.insertAfter("act", x -> x.getSameDiff().math().min(x, x.getSameDiff().getVariable(limit)));
        GraphView g = insertedAfterAct(e, made);
        assertEquals(List.of(g.producer("conv2")), g.consumers(made));
        assertEquals(List.of("conv2", made), e.network().outputs());
        INDArray clipped = e.network().run(s.calibration()).get(made);
        INDArray expected = Transforms.min(act, Nd4j.createFromArray(1f, 2f, 3f, 4f).reshape(1, 4, 1, 1)
                .broadcast(act.shape()), true);
        assertEquals(0, SyntheticNets.relativeError(clipped, expected), 1e-7);
        assertEquals(List.of("addConstant act/limit", "insertAfter act -> " + made), e.changes());
        assertEquals("act/limit_1", e.freshName("act/limit"));
    }

    @Test
    void insertAfterForRewiresOnlyTheNamedConsumers() {
        SyntheticNets s = net();
        GraphEditor e = new GraphEditor(s.builder().build("conv2", "act"));
        INDArray before = e.network().run(s.calibration()).get("conv2");
        String conv2 = e.view().producer("conv2");
        String made = e.insertAfterFor("act", List.of(conv2), false, x -> x.mul(2.0));
        GraphView g = insertedAfterAct(e, made);
        assertEquals(List.of(conv2), g.consumers(made));
        assertEquals(List.of("conv2", "act"), e.network().outputs(), "the output was not asked to move");
        assertTrue(SyntheticNets.relativeError(e.network().run(s.calibration()).get("conv2"), before) > 1e-3);
        assertThrows(IllegalArgumentException.class, () -> e.insertAfterFor("act", List.of("nope"), false, x -> x));
    }

    @Test
    void setStatsIsRecorded() {
        Network n = net().builder().build("conv2");
        GraphEditor e = new GraphEditor(n);
        ChannelStats st = new ChannelStats(new double[] {1, 2}, new double[] {3, 4});
        e.setStats("conv2", st);
        assertEquals(st, e.network().stats().get("conv2"));
        assertEquals(st, e.view().stats("conv2"));
        assertTrue(n.stats().isEmpty(), "the editor works on a copy");
        assertEquals(1, e.changeCount());
    }
}
