package org.dfq4j.rewrite.graph;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotSame;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.List;
import java.util.Map;
import org.dfq4j.rewrite.view.GraphView;
import org.junit.jupiter.api.Test;
import org.nd4j.autodiff.samediff.SDVariable;
import org.nd4j.autodiff.samediff.SameDiff;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;

/** A network never changes a graph it was given without saying so, and a view hands out nothing mutable. */
class OwnershipTest {

    /** A SameDiff whose op "y" is also a variable's name: adopting renames the op apart. */
    private static SameDiff clashing() {
        SameDiff sd = SameDiff.create();
        SDVariable x = sd.placeHolder("x", DataType.FLOAT, -1, 2, 1, 1);
        SDVariable y = sd.nn().relu("r", x, 0);
        sd.constant("relu", Nd4j.scalar(1f)); // a variable named like the op SameDiff made
        y.mul("out", 2.0);
        return sd;
    }

    @Test
    void copyOfLeavesTheCallersGraphUntouchedAndAdoptSaysWhatItChanges() {
        SameDiff mine = clashing();
        List<String> opsBefore = List.copyOf(mine.getOps().keySet());
        boolean cacheBefore = mine.isEnableCache();
        Network copied = Network.copyOf("n", mine, "x", new long[] {2, 1, 1}, List.of("out"));
        assertEquals(opsBefore, List.copyOf(mine.getOps().keySet()), "copyOf renamed the caller's ops");
        assertEquals(cacheBefore, mine.isEnableCache(), "copyOf changed the caller's cache setting");
        assertNotSame(mine, copied.sameDiff());
        assertFalse(copied.sameDiff().isEnableCache());

        Network adopted = Network.adopt("n", mine, "x", new long[] {2, 1, 1}, List.of("out"));
        assertTrue(adopted.sameDiff() == mine);
        assertFalse(mine.isEnableCache(), "adopt turns the output cache off, as documented");
        for (String op : mine.getOps().keySet()) {
            assertFalse(mine.getVariables().containsKey(op), "adopt separates op names from variable names");
        }
        INDArray x = Nd4j.createFromArray(-1f, 2f).reshape(1, 2, 1, 1);
        assertEquals(adopted.output(x), copied.output(x));
    }

    @Test
    void metadataIsReadOnlyAndWithGivesANewNetwork() {
        Network n = Network.copyOf("n", clashing(), "x", new long[] {2, 1, 1}, List.of("out"));
        assertThrows(UnsupportedOperationException.class, () -> n.properties().put("k", "v"));
        assertThrows(UnsupportedOperationException.class, () -> n.recordedRanges().put("out", new TensorRange(0, 1)));
        assertThrows(UnsupportedOperationException.class, () -> n.stats().clear());
        Network m = n.withProperties(Map.of("k", "v"));
        assertEquals("v", m.properties().get("k"));
        assertTrue(n.properties().isEmpty());
    }

    @Test
    void aViewHandsOutCopiesOfConstants() {
        NetworkBuilder b = new NetworkBuilder("v", 2, 3, 3);
        b.conv2d("c", b.input(), Nd4j.ones(DataType.FLOAT, 1, 1, 2, 2), null, 1, 1, Padding.VALID, 1, 1);
        Network n = b.build("c");
        GraphView g = GraphView.of(n);
        g.constant("c/W").assign(7);
        assertEquals(1.0, GraphView.of(n).constant("c/W").getDouble(0), "a view's constant is a copy");
        assertEquals(1.0, g.snapshot().sameDiff().getArrForVarName("c/W").getDouble(0));
        assertNotSame(n.sameDiff(), g.snapshot().sameDiff());
    }
}
