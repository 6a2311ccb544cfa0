package org.dfq4j.rewrite.graph;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.List;
import java.util.Map;
import java.util.Set;
import org.dfq4j.rewrite.engine.GraphEditor;
import org.dfq4j.rewrite.execution.ChannelsLast;
import org.dfq4j.rewrite.testing.SyntheticMobileNetV2;
import org.dfq4j.rewrite.testing.SyntheticNets;
import org.junit.jupiter.api.Test;
import org.nd4j.autodiff.samediff.SDVariable;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.api.ops.impl.scalar.ScalarMax;
import org.nd4j.linalg.api.ops.impl.scalar.ScalarMin;
import org.nd4j.linalg.api.ops.impl.transforms.strict.Rint;
import org.nd4j.linalg.indexing.NDArrayIndex;

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
    void elementwiseChainsRunTileByTileToTheSameValues() {
        // d * 4 -> rint -> max -> min -> / 4 is a chain of five elementwise ops: in tiles of 7 elements
        // (the last one shorter), of 1000, or each op over the whole array, the values are SameDiff's
        SyntheticNets n = net();
        Network net = n.builder().build("prob");
        List<String> vars = List.of("levels", "sum", "prob");
        Map<String, INDArray> expected = sameDiffs(net, n.calibration(), vars);
        for (int tile : new int[] {7, 1000, 0, ExecutionPlan.DEFAULT_TILE}) {
            net.setElementwiseTile(tile);
            for (int pass = 0; pass < 2; pass++) {
                Map<String, INDArray> got = net.run(n.calibration(), vars);
                for (String v : vars) {
                    assertEquals(expected.get(v), got.get(v), v + ", tile " + tile + ", pass " + pass);
                }
            }
        }
        ExecutionPlan p = ExecutionPlan.prepare(net.sameDiff(), net.input(), n.calibration(), List.of("prob"),
                ExecutionPlan.fingerprint(net.sameDiff()), 7);
        assertEquals(1, p.chains(), "the rounding's chain");
    }

    @Test
    void aPlanFollowsChangedConstantsAndReplacedOps() {
        // an editor's network shares the graph it goes on editing: a plan made before an edit must
        // not run the graph as it was
        SyntheticNets n = net();
        GraphEditor editor = new GraphEditor(n.builder().build("prob"));
        Network net = editor.network();
        INDArray before = net.output(n.calibration());
        editor.setConstant("fc/W", editor.view().constant("fc/W").mul(2.0));
        INDArray afterConstant = net.output(n.calibration());
        assertNotEquals(before, afterConstant);
        assertEquals(sameDiffs(net, n.calibration(), List.of("prob")).get("prob"), afterConstant);
        editor.replaceOp(editor.view().producer("r1"), x -> x.getSameDiff().nn().relu6(x.mul(2.0), 0));
        INDArray afterOp = net.output(n.calibration());
        assertNotEquals(afterConstant, afterOp);
        assertEquals(sameDiffs(net, n.calibration(), List.of("prob")).get("prob"), afterOp);
    }

    @Test
    void returnedArraysBelongToTheCallerAndMemoryIsReused() {
        // a chain of eight conv + relu layers of one shape: the relus run in place over their conv's
        // output, and two arrays serve the whole pass
        SyntheticNets n = SyntheticNets.convChain("chain", 22, 8);
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

    @Test
    void slicesSideBySideOnWorkersGiveTheValuesOfSlicesInTurn() {
        SyntheticNets n = net();
        Network net = n.builder().build("prob");
        List<String> vars = List.of("levels", "prob");
        net.setSliceImages(2);
        Map<String, INDArray> inTurn = net.run(n.calibration(), vars);
        Set<String> threads = java.util.concurrent.ConcurrentHashMap.newKeySet();
        try (SliceWorkers workers = new SliceWorkers(3, () -> threads.add(Thread.currentThread().getName()))) {
            net.setSliceWorkers(workers);
            assertSame(workers, net.copy().sliceWorkers(), "a copy runs on the same workers");
            for (int run = 0; run < 3; run++) {
                Map<String, INDArray> sideBySide = net.run(n.calibration(), vars);
                for (String v : vars) {
                    assertEquals(0.0, maxAbsDiff(inTurn.get(v), sideBySide.get(v)), v + ", run " + run);
                }
            }
            assertEquals(3, threads.size(), "four slices kept three workers busy: " + threads);
            // a batch of one slice runs on the caller's thread, with a plan of its own
            INDArray two = n.calibration().get(NDArrayIndex.interval(0, 2)).dup();
            assertEquals(inTurn.get("prob").get(NDArrayIndex.interval(0, 2)), net.run(two, vars).get("prob"));
        }
    }

    /** The largest absolute difference between two arrays of one shape (0: bit for bit the same values). */
    private static double maxAbsDiff(INDArray a, INDArray b) {
        assertArrayEquals(a.shape(), b.shape());
        return a.castTo(DataType.DOUBLE).sub(b.castTo(DataType.DOUBLE)).amaxNumber().doubleValue();
    }

    private static void assertPlannedEqualsSameDiff(String graph, Network net, INDArray batch, List<String> vars) {
        Map<String, INDArray> expected = sameDiffs(net, batch, vars);
        INDArray caller = batch.dup();
        for (int pass = 0; pass < 2; pass++) {
            Map<String, INDArray> got = net.run(batch, vars);
            for (String v : vars) {
                assertEquals(0.0, maxAbsDiff(expected.get(v), got.get(v)), graph + ": " + v + ", pass " + pass);
            }
        }
        assertEquals(caller, batch, graph + ": the caller's batch is not written");
    }

    /**
     * Two branches from the input (a relu straight on the input, so an elementwise op reads the
     * caller's batch), hard-swish and sigmoid gating (an elementwise op whose input is read again by
     * the product after it), concat, avg pool, clip, tanh, a per-channel mean, two outputs.
     */
    private static SyntheticNets branches() {
        SyntheticNets n = new SyntheticNets("branches", 24, 3, 9);
        var b = n.builder();
        SDVariable direct = b.relu("onInput", n.input());
        SDVariable a = b.hardSwish("hs", n.conv("ca", direct, 3, 3, 4, 1, Padding.SAME));
        SDVariable g = n.conv("cg", n.input(), 1, 3, 4, 1, Padding.VALID);
        SDVariable gated = b.mul("gated", g, b.sigmoid("gate", g));
        SDVariable cat = b.concat("cat", 1, a, gated);
        SDVariable pooled = b.avgPool("ap", b.clip("clip", cat, -1.0, 2.0), 3, 3, 2, 2, Padding.SAME);
        b.tanh("head", n.conv("c2", pooled, 1, 8, 5, 1, Padding.VALID));
        b.mean("perChannel", pooled, false, 2, 3);
        return n;
    }

    @Test
    void severalGraphsRunBitForBitAsSameDiffRunsThem() {
        SyntheticNets small = net();
        assertPlannedEqualsSameDiff("conv/bn/depthwise/levels/residual/dense", small.builder().build("prob"),
                small.calibration(), List.of("r1", "levels", "sum", "fc", "prob"));
        SyntheticNets br = branches();
        assertPlannedEqualsSameDiff("branches", br.builder().build("head", "perChannel"), br.calibration(),
                List.of("onInput", "gate", "gated", "cat", "head", "perChannel"));
        SyntheticNets m = new SyntheticNets("mnv2", 25, 3, 32);
        Network mnv2 = SyntheticMobileNetV2.build(m, 10);
        assertPlannedEqualsSameDiff("synthetic MobileNetV2", mnv2, m.calibration(), mnv2.outputs());
        Network nhwc = ChannelsLast.of(mnv2).network();
        assertPlannedEqualsSameDiff("synthetic MobileNetV2, channels-last", nhwc, m.calibration(), nhwc.outputs());
    }

    @Test
    void batchSizesGetPlansOfTheirOwnAndOldPlansStayValid() {
        // five batch sizes in turn, twice: more shapes than the network keeps plans for, so plans
        // are dropped and made again; every pass equals SameDiff's
        SyntheticNets n = net();
        Network net = n.builder().build("prob");
        List<String> vars = List.of("levels", "prob");
        for (int round = 0; round < 2; round++) {
            for (long size : new long[] {8, 1, 3, 8, 5, 2}) {
                INDArray batch = n.calibration().get(NDArrayIndex.interval(0, size)).dup();
                Map<String, INDArray> expected = sameDiffs(net, batch, vars);
                Map<String, INDArray> got = net.run(batch, vars);
                for (String v : vars) {
                    assertEquals(0.0, maxAbsDiff(expected.get(v), got.get(v)), v + " at batch " + size + ", round " + round);
                }
            }
        }
    }

    @Test
    void elementwiseOpsRunInPlaceOnlyOverTensorsNobodyReadsLater() {
        // c feeds a relu and, after it, a product: the relu may not overwrite c. An identity of d
        // feeds a tanh while d itself is read after it: the tanh may not overwrite d through the
        // identity. e is requested: its relu may not overwrite it. Each would change 'out' or 'e'.
        SyntheticNets n = new SyntheticNets("inplace", 26, 3, 6);
        var b = n.builder();
        var sd = b.sameDiff();
        SDVariable c = n.conv("c", n.input(), 3, 3, 4, 1, Padding.SAME);
        SDVariable r = b.relu("r", c);
        SDVariable twice = c.mul("twice", 2.0);
        SDVariable d = n.conv("d", b.add("rt", r, twice), 1, 4, 4, 1, Padding.VALID);
        SDVariable t = b.tanh("t", sd.identity("alias", d));
        SDVariable late = d.mul("late", 3.0);
        SDVariable e = n.conv("e", b.add("tl", t, late), 1, 4, 4, 1, Padding.VALID);
        SDVariable re = b.relu("re", e);
        b.add("out", re, b.sigmoid("s", re));
        Network net = b.build("out");
        INDArray batch = n.calibration();
        Map<String, INDArray> expected = sameDiffs(net, batch, List.of("e", "out"));
        for (int pass = 0; pass < 2; pass++) {
            Map<String, INDArray> got = net.run(batch, List.of("e", "out"));
            assertEquals(0.0, maxAbsDiff(expected.get("e"), got.get("e")), "the requested e, read by an elementwise op");
            assertEquals(0.0, maxAbsDiff(expected.get("out"), got.get("out")), "pass " + pass);
        }
    }
}
