package org.dfq4j.rewrite.graph;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.List;
import java.util.Map;
import org.dfq4j.rewrite.testing.SyntheticNets;
import org.junit.jupiter.api.Test;
import org.nd4j.autodiff.samediff.SDVariable;
import org.nd4j.linalg.api.ndarray.INDArray;

/**
 * Passes through SameDiff's InferenceSession (plans off) recycle op outputs within and between passes;
 * nothing a caller holds may change because of it.
 */
class ArrayRecyclerTest {

    /** conv -> bn -> relu -> depthwise -> gap -> dense -> bn: every kind of output allocation (4-D, 2-D, 'f'-asked). */
    @Test
    void recycledPassesEqualSameDiffsOwnAndReuseTheirArrays() {
        SyntheticNets n = SyntheticNets.convDepthwiseDense("recycle", 13);
        Network net = n.builder().build("bn3");
        List<String> vars = List.of("r1", "dw", "fc", "bn3");
        net.setPlanned(false);
        Map<String, INDArray> reference = net.sameDiff().output(Map.of(net.input(), n.calibration()), vars);
        for (int pass = 0; pass < 3; pass++) {
            Map<String, INDArray> got = net.run(n.calibration(), vars);
            for (String v : vars) {
                assertEquals(reference.get(v), got.get(v), v + " in pass " + pass);
            }
        }
        long[] counts = net.recyclerCounts();
        assertTrue(counts[1] >= 2 * counts[0], "passes 2 and 3 reuse every array of pass 1: " + counts[0] + " new, " + counts[1] + " reused");
    }

    @Test
    void returnedArraysBelongToTheCaller() {
        SyntheticNets n = SyntheticNets.convDepthwiseDense("recycle", 13);
        Network net = n.builder().build("bn3");
        net.setPlanned(false);
        INDArray first = net.run(n.calibration(), List.of("r1", "bn2")).get("r1");
        INDArray kept = first.dup();
        net.run(n.calibration().mul(-2.0), List.of("r1", "bn2"));
        assertEquals(kept, first, "a later pass must not write into an array returned earlier");
    }

    @Test
    void aCopyMadeAfterRecycledPassesRunsItsOwnGraph() {
        SyntheticNets n = SyntheticNets.convDepthwiseDense("recycle", 13);
        Network net = n.builder().build("bn3");
        net.setPlanned(false);
        INDArray before = net.output(n.calibration());
        net.output(n.calibration());
        Network copy = net.copy();
        copy.sameDiff().getArrForVarName("fc/b").addi(1.0);
        assertEquals(before, net.output(n.calibration()));
        INDArray changed = copy.output(n.calibration());
        assertNotEquals(before, changed);
        assertEquals(changed, copy.output(n.calibration()));
    }

    @Test
    void aPassHoldsOnlyTheTensorsAliveAtOnce() {
        // a chain of eight conv + relu layers of one shape: at any time one layer's input and output are alive
        SyntheticNets n = SyntheticNets.convChain("chain", 6, 8);
        Network net = n.builder().build("r7");
        net.setPlanned(false);
        INDArray expected = net.sameDiff().output(Map.of(net.input(), n.calibration()), "r7").get("r7");
        for (int pass = 0; pass < 3; pass++) {
            assertEquals(expected, net.output(n.calibration()), "pass " + pass);
        }
        long tensor = n.calibration().length() * 4;
        assertEquals(2 * tensor, net.peakPassBytes(), "one layer's input and output");
        long[] counts = net.recyclerCounts();
        assertTrue(counts[0] <= 3, "16 outputs a pass from at most 3 arrays, got " + counts[0]);
    }

    @Test
    void aTensorReadLateKeepsItsMemoryUntilThen() {
        // r1 is read by c2 and, after r2 and r3 of the same shape were made, by the residual add
        SyntheticNets n = new SyntheticNets("late", 7, 4, 8);
        var b = n.builder();
        SDVariable r1 = b.relu("r1", n.conv("c1", n.input(), 3, 4, 4, 1, Padding.SAME));
        SDVariable r2 = b.relu("r2", n.conv("c2", r1, 3, 4, 4, 1, Padding.SAME));
        SDVariable r3 = b.relu("r3", n.conv("c3", r2, 3, 4, 4, 1, Padding.SAME));
        b.add("out", r1, r3);
        Network net = b.build("out");
        net.setPlanned(false);
        INDArray expected = net.sameDiff().output(Map.of(net.input(), n.calibration()), "out").get("out");
        for (int pass = 0; pass < 3; pass++) {
            assertEquals(expected, net.output(n.calibration()), "pass " + pass);
        }
    }
}
