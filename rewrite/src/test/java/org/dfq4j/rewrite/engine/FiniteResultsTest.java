package org.dfq4j.rewrite.engine;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.Map;
import org.dfq4j.rewrite.DfqException;
import org.dfq4j.rewrite.graph.Network;
import org.dfq4j.rewrite.graph.NetworkBuilder;
import org.dfq4j.rewrite.graph.OpKind;
import org.dfq4j.rewrite.graph.Padding;
import org.dfq4j.rewrite.graph.TensorRange;
import org.dfq4j.rewrite.pattern.Match;
import org.dfq4j.rewrite.pattern.Patterns;
import org.dfq4j.rewrite.quant.InsertFakeQuant;
import org.dfq4j.rewrite.quant.RangeSource;
import org.dfq4j.rewrite.testing.OpCounts;
import org.dfq4j.rewrite.testing.SyntheticNets;
import org.dfq4j.rewrite.transform.CrossLayerEqualization;
import org.junit.jupiter.api.Test;
import org.nd4j.autodiff.samediff.SDVariable;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;

/** No step turns a network's numbers into NaN or infinity silently: drivers check what each step produced. */
class FiniteResultsTest {

    /** conv1 -> relu -> conv2: one equalizable pair. */
    private static Network pair(float conv1Value) {
        SyntheticNets n = new SyntheticNets("finite", 3, 2, 6);
        NetworkBuilder b = n.builder();
        SDVariable x = b.relu("r", n.conv("conv1", n.input(), 3, 2, 4, 1, Padding.SAME));
        SDVariable y = n.conv("conv2", x, 1, 4, 3, 1, Padding.VALID);
        Network net = b.build(y.name());
        if (!Float.isNaN(conv1Value)) {
            INDArray w = net.sameDiff().getArrForVarName("conv1/W");
            w.putScalar(5, conv1Value);
        }
        return net;
    }

    /** Divides a weight by zero range: 0 / 0. */
    private static final class DivideByZeroRange implements Transform {
        @Override
        public void apply(GraphEditor editor, RewriteLog log) {
            editor.setConstant("conv2/W", editor.view().constant("conv2/W").divi(0).muli(0));
        }
    }

    /** Scales a weight beyond float range at every relu it replaces by a new relu. */
    private static final class Overflow extends PatternRule {
        Overflow() {
            super(Patterns.op(OpKind.RELU), "kept");
        }

        @Override
        public void rewrite(Match match, GraphEditor editor, RewriteLog log) {
            editor.setConstant("conv1/W", editor.view().constant("conv1/W").muli(Float.MAX_VALUE).muli(10));
            editor.replaceOp(match.anchor(), v -> v.getSameDiff().nn().relu(v, 0));
        }
    }

    @Test
    void aTransformThatProducesNaNIsNamedWithTheTensor() {
        DfqException e = assertThrows(DfqException.class,
                () -> Pipeline.of(new DivideByZeroRange()).run(pair(Float.NaN)));
        assertTrue(e.getMessage().contains("DivideByZeroRange") && e.getMessage().contains("conv2/W")
                && e.getMessage().contains("NaN"), e.getMessage());
    }

    @Test
    void aRuleThatProducesInfinityIsNamed() {
        DfqException e = assertThrows(DfqException.class, () -> RewriteDriver.of(new Overflow()).run(pair(Float.NaN)));
        assertTrue(e.getMessage().contains("Overflow") && e.getMessage().contains("conv1/W")
                && e.getMessage().contains("Infinity"), e.getMessage());
    }

    /** An infinite weight used to end as "internal error: IllegalStateException: CLE scale ... is 0.0". */
    @Test
    void equalizingAnInfiniteWeightIsAClearError() {
        DfqException e = assertThrows(DfqException.class,
                () -> Pipeline.of(new CrossLayerEqualization()).run(pair(Float.POSITIVE_INFINITY)));
        assertTrue(e.getMessage().contains("conv1") && e.getMessage().contains("not finite"), e.getMessage());
    }

    @Test
    void equalizationWithFiniteExtremeRangesStaysFinite() {
        Network net = pair(1e30f);
        Network eq = Pipeline.of(new CrossLayerEqualization()).run(net).network();
        INDArray x = Nd4j.rand(DataType.FLOAT, 2, 2, 6, 6);
        net.run(x);
        eq.run(x); // checked: no NaN or infinity
    }

    @Test
    void aNetworkThatComputesInfinityReportsIt() {
        Network net = pair(Float.MAX_VALUE);
        DfqException e = assertThrows(DfqException.class, () -> net.run(Nd4j.ones(DataType.FLOAT, 1, 2, 6, 6).muli(1e30)));
        assertTrue(e.getMessage().contains("non-finite") && e.getMessage().contains(net.outputs().get(0)), e.getMessage());
    }

    private static int fakeQuants(double max) {
        Network net = pair(Float.NaN).withRecordedRanges(Map.of("r", new TensorRange(0, max)));
        Rewritten r = Pipeline.of(new InsertFakeQuant(8, RangeSource.recorded())).run(net);
        r.network().run(Nd4j.rand(DataType.FLOAT, 1, 2, 6, 6)); // checked: no NaN
        return OpCounts.of(r.network()).getOrDefault(OpKind.FAKE_QUANT, 0);
    }

    @Test
    void aRangeTooNarrowForAFloatScaleIsLeftFloat() {
        assertEquals(1, fakeQuants(1.0));
        assertEquals(0, fakeQuants(1e-40), "a scale of 1e-40 / 255 is 0 in float: the op would compute NaN");
    }
}
