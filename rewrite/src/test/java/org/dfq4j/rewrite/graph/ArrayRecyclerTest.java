package org.dfq4j.rewrite.graph;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.List;
import java.util.Map;
import org.dfq4j.rewrite.testing.SyntheticNets;
import org.junit.jupiter.api.Test;
import org.nd4j.linalg.api.ndarray.INDArray;

/** Network.run recycles op outputs between passes; nothing a caller holds may change because of it. */
class ArrayRecyclerTest {

    /** conv -> bn -> relu -> depthwise -> gap -> dense -> bn: every kind of output allocation (4-D, 2-D, 'f'-asked). */
    @Test
    void recycledPassesEqualSameDiffsOwnAndReuseTheirArrays() {
        SyntheticNets n = SyntheticNets.convDepthwiseDense("recycle", 13);
        Network net = n.builder().build("bn3");
        List<String> vars = List.of("r1", "dw", "fc", "bn3");
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
        INDArray first = net.run(n.calibration(), List.of("r1", "bn2")).get("r1");
        INDArray kept = first.dup();
        net.run(n.calibration().mul(-2.0), List.of("r1", "bn2"));
        assertEquals(kept, first, "a later pass must not write into an array returned earlier");
    }

    @Test
    void aCopyMadeAfterRecycledPassesRunsItsOwnGraph() {
        SyntheticNets n = SyntheticNets.convDepthwiseDense("recycle", 13);
        Network net = n.builder().build("bn3");
        INDArray before = net.output(n.calibration());
        net.output(n.calibration());
        Network copy = net.copy();
        copy.sameDiff().getArrForVarName("fc/b").addi(1.0);
        assertEquals(before, net.output(n.calibration()));
        INDArray changed = copy.output(n.calibration());
        assertNotEquals(before, changed);
        assertEquals(changed, copy.output(n.calibration()));
    }
}
