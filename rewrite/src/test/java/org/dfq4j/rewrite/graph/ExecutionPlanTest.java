package org.dfq4j.rewrite.graph;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.List;
import java.util.Map;
import org.dfq4j.rewrite.engine.GraphEditor;
import org.dfq4j.rewrite.testing.SyntheticNets;
import org.junit.jupiter.api.Test;
import org.nd4j.autodiff.samediff.SDVariable;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.api.ops.impl.scalar.ScalarMax;
import org.nd4j.linalg.api.ops.impl.scalar.ScalarMin;
import org.nd4j.linalg.api.ops.impl.transforms.strict.Rint;

/** Planned passes compute what SameDiff computes, follow every change of the graph, and reuse memory. */
class ExecutionPlanTest {

    /**
     * conv -> BN -> relu6 -> depthwise -> rint -> max/min (elementwise, written in place) -> residual add
     * of the relu6 output -> max pool | kept-dims mean, flattened -> dense -> softmax.
     */
    private static SyntheticNets net() {
        SyntheticNets n = new SyntheticNets("plan", 21, 3, 10);
        var b = n.builder();
        var sd = b.sameDiff();
        SDVariable r1 = b.relu6("r1", n.calibratedBatchNorm("bn1", n.conv("c1", n.input(), 3, 3, 6, 1, Padding.SAME)));
        SDVariable d = n.depthwise("d1", r1, 3, 6, 1, 1, Padding.SAME);
        SDVariable levels = new ScalarMin(sd, new ScalarMax(sd, new Rint(sd, d.mul(4.0), false).outputVariable(), -3.0)
                .outputVariable(), 12.0).outputVariable();
        SDVariable sum = b.add("sum", b.sameDiff().identity("levels", levels.div(4.0)), r1);
        SDVariable pooled = b.maxPool("mp", sum, 2, 2, 2, 2, Padding.VALID);
        SDVariable flat = b.reshape("flat", b.globalAvgPool("gap", pooled, true), -1, 6);
        b.softmax("prob", n.dense("fc", flat, 6, 4));
        return n;
    }

    private static Map<String, INDArray> sameDiffs(Network net, INDArray batch, List<String> vars) {
        return net.sameDiff().output(Map.of(net.input(), batch), vars);
    }

    @Test
    void plannedPassesEqualSameDiffsOwnOutputsAndIntermediates() {
        SyntheticNets n = net();
        Network net = n.builder().build("prob");
        List<String> vars = List.of("r1", "levels", "sum", "fc", "prob");
        Map<String, INDArray> expected = sameDiffs(net, n.calibration(), vars);
        for (int pass = 0; pass < 3; pass++) {
            Map<String, INDArray> got = net.run(n.calibration(), vars);
            for (String v : vars) {
                assertEquals(expected.get(v), got.get(v), v + ", pass " + pass);
            }
        }
        // another batch size gets a plan of its own; the first still works
        INDArray two = n.calibration().get(org.nd4j.linalg.indexing.NDArrayIndex.interval(0, 2)).dup();
        assertEquals(sameDiffs(net, two, List.of("prob")).get("prob"), net.output(two));
        assertEquals(expected.get("prob"), net.output(n.calibration()));
    }

    @Test
    void aPlanFollowsChangedConstantsAndReplacedOps() {
        SyntheticNets n = net();
        Network net = n.builder().build("prob");
        INDArray before = net.output(n.calibration());
        GraphEditor editor = new GraphEditor(net);
        editor.setConstant("fc/W", net.sameDiff().getArrForVarName("fc/W").mul(2.0));
        INDArray afterConstant = net.output(n.calibration());
        assertNotEquals(before, afterConstant);
        assertEquals(sameDiffs(net, n.calibration(), List.of("prob")).get("prob"), afterConstant);
        editor.replaceOp(GraphViewOps.producer(net, "r1"), x -> x.getSameDiff().nn().relu6(x.mul(2.0), 0));
        INDArray afterOp = net.output(n.calibration());
        assertNotEquals(afterConstant, afterOp);
        assertEquals(sameDiffs(net, n.calibration(), List.of("prob")).get("prob"), afterOp);
    }

    @Test
    void returnedArraysBelongToTheCallerAndMemoryIsReused() {
        // a chain of eight conv + relu layers of one shape: the relus run in place over their conv's
        // output, and two arrays serve the whole pass
        SyntheticNets n = new SyntheticNets("chain", 22, 4, 16);
        SDVariable x = n.input();
        for (int i = 0; i < 8; i++) {
            x = n.builder().relu("r" + i, n.conv("c" + i, x, 3, 4, 4, 1, Padding.SAME));
        }
        Network net = n.builder().build("r7");
        INDArray first = net.output(n.calibration());
        INDArray kept = first.dup();
        net.output(n.calibration().mul(-2.0));
        assertEquals(kept, first, "a later pass must not write into an array returned earlier");
        assertEquals(sameDiffs(net, n.calibration(), List.of("r7")).get("r7"), net.output(n.calibration()));
        assertEquals(2 * n.calibration().length() * 4, net.peakPassBytes(), "two tensors for sixteen outputs");
    }

    @Test
    void anIdentityOfTheInputReadsEachRunsBatch() {
        // calibration inserts identities after the tensors it measures, the input among them: the
        // plan made on one batch must read the next batch through the identity too
        SyntheticNets n = new SyntheticNets("identity", 23, 3, 8);
        var b = n.builder();
        SDVariable id = b.sameDiff().identity("id", n.input());
        SDVariable r = b.relu("r", n.conv("c", id, 3, 3, 4, 1, Padding.SAME));
        b.sameDiff().max("peak", r);
        Network net = b.build("r");
        List<String> vars = List.of("id", "peak", "r");
        net.run(n.calibration(), vars);
        INDArray other = n.calibration().mul(-3.0).add(1.0);
        Map<String, INDArray> expected = sameDiffs(net, other, vars);
        Map<String, INDArray> got = net.run(other, vars);
        for (String v : vars) {
            assertEquals(expected.get(v), got.get(v), v + " of the second batch");
        }
    }

    @Test
    void slicesOfABatchGiveTheValuesOfTheWholeBatch() {
        SyntheticNets n = net();
        Network net = n.builder().build("prob");
        List<String> vars = List.of("levels", "prob");
        Map<String, INDArray> whole = net.run(n.calibration(), vars);
        net.setSliceImages(3);
        Map<String, INDArray> sliced = net.run(n.calibration(), vars);
        for (String v : vars) {
            assertEquals(whole.get(v), sliced.get(v), v + " in slices of 3, 3 and 2 images");
        }
        assertEquals(3, net.copy().sliceImages(), "a copy runs in the same slices");
    }

    /** The producer op of a variable. */
    private static final class GraphViewOps {
        static String producer(Network net, String var) {
            return net.sameDiff().getVariables().get(var).getOutputOfOp();
        }
    }
}
