package org.dfq4j.rewrite.graph;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;

import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;

/** Layers named like SameDiff's own op names (Keras does: conv2d_1, conv2d_2, add_1) survive copy and save. */
class OpNamesTest {

    private static Network kerasNamed() {
        Nd4j.getRandom().setSeed(11);
        NetworkBuilder b = new NetworkBuilder("keras", 3, 8, 8);
        var c1 = b.conv2d("conv2d_1", b.input(), Nd4j.randn(DataType.FLOAT, 3, 3, 3, 4), null, 1, 1, Padding.SAME, 1, 1);
        var c2 = b.conv2d("conv2d_2", c1, Nd4j.randn(DataType.FLOAT, 1, 1, 4, 4), null, 1, 1, Padding.SAME, 1, 1);
        var c3 = b.conv2d("conv2d_3", c2, Nd4j.randn(DataType.FLOAT, 1, 1, 4, 4), null, 1, 1, Padding.SAME, 1, 1);
        var a = b.add("add_1", c2, c3);
        b.relu("relu", a);
        return b.build("relu");
    }

    @Test
    void noOpSharesAVariableName() {
        Network n = kerasNamed();
        for (String op : n.sameDiff().getOps().keySet()) {
            assertFalse(n.sameDiff().getVariables().containsKey(op), "op " + op + " shares a variable's name");
        }
    }

    @Test
    void copyAndSaveComputeTheSame(@TempDir Path dir) {
        Network n = kerasNamed();
        INDArray x = Nd4j.rand(DataType.FLOAT, 2, 3, 8, 8);
        INDArray expected = n.output(x).dup();
        assertEquals(expected, n.copy().output(x));
        Path f = dir.resolve("k.dfq");
        NetworkFile.save(n, f);
        assertEquals(expected, NetworkFile.load(f).output(x));
    }
}
