package org.dfq4j.rewrite.quant;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.List;
import java.util.TreeSet;
import org.dfq4j.rewrite.graph.OpKind;
import org.dfq4j.rewrite.DfqException;
import org.dfq4j.rewrite.engine.Pipeline;
import org.dfq4j.rewrite.engine.RewriteLog;
import org.dfq4j.rewrite.engine.Rewritten;
import org.dfq4j.rewrite.graph.Network;
import org.dfq4j.rewrite.graph.TensorRange;
import org.dfq4j.rewrite.testing.SyntheticNets;
import org.dfq4j.rewrite.view.GraphView;
import org.junit.jupiter.api.Test;
import org.nd4j.linalg.api.ndarray.INDArray;

class InsertFakeQuantTest {

    private static final RangeSource BN = RangeSource.batchNorm(6, new TensorRange(-4, 4));

    private static long fakeQuantOps(Network net) {
        GraphView g = GraphView.of(net);
        return g.ops().stream().filter(op -> g.kind(op) == OpKind.FAKE_QUANT).count();
    }

    @Test
    void sixteenBitsStayCloseToFloatAndTheGraphStaysWellFormed() {
        QuantTestNets.Calibrated c = QuantTestNets.residual(11);
        Rewritten r = Pipeline.of(new InsertFakeQuant(16, BN)).run(c.net());
        GraphView g = GraphView.of(r.network());
        assertTrue(g.isWellFormed(), String.join("; ", g.problems()));
        assertEquals(8, fakeQuantOps(r.network())); // input, r1, d1c, c2, a1, l3, cat, fc
        INDArray f = c.net().output(c.calibration());
        INDArray q = r.network().output(c.calibration());
        double err = SyntheticNets.relativeError(q, f);
        assertTrue(err < 1e-3, "16-bit relative error " + err);
        assertTrue(err > 0, "fake quant changed nothing");
        assertEquals(0, fakeQuantOps(c.net()), "the input network is left unchanged");
        Rewritten twice = Pipeline.of(new InsertFakeQuant(16, BN), new InsertFakeQuant(8, BN)).run(c.net());
        assertEquals(8, fakeQuantOps(twice.network()), "a second insertion finds every point quantized");
    }

    @Test
    void eightBitsGiveQuantizedLevelsAtTheFusedActivation() {
        QuantTestNets.Calibrated c = QuantTestNets.residual(12);
        Rewritten r = Pipeline.of(new InsertFakeQuant(8, BN)).run(c.net());
        GraphView g = GraphView.of(r.network());
        // the point after d1 -> relu -> clip is the clip's output: its only consumer is now the fake quant
        String fq = g.soleConsumer("d1c");
        assertEquals(OpKind.FAKE_QUANT, g.kind(fq));
        assertEquals(List.of("d1c/fq"), g.outputs(fq));
        assertEquals("d1r", g.inputs(g.producer("d1c")).get(0));
        assertEquals(OpKind.RELU, g.kind(g.soleConsumer("d1")));

        RewriteLog.Entry e = r.log().entries("InsertFakeQuant").stream()
                .filter(x -> x.targets().equals(List.of("d1c"))).findFirst().orElseThrow();
        assertEquals("bn", e.values().get("source"));
        double min = e.number("min");
        double max = e.number("max");
        assertEquals(0, min);
        double step = (max - min) / 255;
        assertEquals(step, e.number("scale"), 1e-12);

        INDArray v = r.network().run(c.calibration(), List.of("d1c/fq")).get("d1c/fq");
        TreeSet<Float> levels = new TreeSet<>();
        for (float x : v.dup().data().asFloat()) {
            levels.add(x);
            double q = (x - min) / step;
            assertEquals(Math.rint(q), q, 1e-3, "value " + x + " is not a level");
        }
        assertTrue(levels.size() <= 256 && levels.size() > 20, levels.size() + " levels");
    }

    @Test
    void networkInputAndOutputAreQuantizedAndLogged() {
        QuantTestNets.Calibrated c = QuantTestNets.residual(13);
        Rewritten r = Pipeline.of(new InsertFakeQuant(8, BN)).run(c.net());
        GraphView g = GraphView.of(r.network());
        assertEquals(OpKind.FAKE_QUANT, g.kind(g.soleConsumer("input")));
        assertEquals(List.of("fc/fq"), r.network().outputs());
        RewriteLog.Entry input = r.log().entries("InsertFakeQuant").stream()
                .filter(x -> x.targets().equals(List.of("input"))).findFirst().orElseThrow();
        assertEquals(-4, input.number("min"));
        assertEquals(4, input.number("max"));
        RewriteLog.Entry summary = r.log().entries("InsertFakeQuant").get(r.log().entries("InsertFakeQuant").size() - 1);
        assertEquals(8, summary.number("quantized"));
        assertEquals(0, summary.number("leftFloat"));
    }

    @Test
    void tensorsWithoutARangeStayFloatAndNoneChangesNothing() {
        QuantTestNets.Calibrated c = QuantTestNets.residual(14).withoutStats("c3");
        Rewritten r = Pipeline.of(new InsertFakeQuant(8, BN)).run(c.net());
        assertEquals(6, fakeQuantOps(r.network())); // l3 and cat have no range
        assertTrue(r.log().toString().contains("left float"), r.log().toString());

        Rewritten none = Pipeline.of(new InsertFakeQuant(8, RangeSource.none())).run(c.net());
        assertEquals(0, fakeQuantOps(none.network()));
        assertEquals(c.net().sameDiff().getOps().size(), none.network().sameDiff().getOps().size());
        assertEquals(SyntheticNets.relativeError(none.network().output(c.calibration()), c.net().output(c.calibration())),
                0.0);
        assertThrows(DfqException.class, () -> new InsertFakeQuant(QuantScheme.perChannel(8, false), BN));
    }

    @Test
    void calibratedRangesMakeTheFakeQuantClipNothingOnTheCalibrationData() {
        QuantTestNets.Calibrated c = QuantTestNets.residual(15);
        Rewritten r = Pipeline.of(new InsertFakeQuant(QuantScheme.perTensor(8, true),
                RangeSource.calibration(List.of(c.calibration())))).run(c.net());
        for (RewriteLog.Entry e : r.log().entries("InsertFakeQuant")) {
            if (e.values().containsKey("min")) {
                assertEquals(0, e.number("zeroPoint"), "symmetric");
                assertEquals(-e.number("min"), e.number("max"), 1e-6);
            }
        }
        INDArray f = c.net().output(c.calibration());
        INDArray q = r.network().output(c.calibration());
        assertTrue(SyntheticNets.relativeError(q, f) < 0.1);
    }
}
