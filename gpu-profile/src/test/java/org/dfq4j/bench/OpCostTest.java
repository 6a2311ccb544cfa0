package org.dfq4j.bench;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.List;
import org.dfq4j.rewrite.graph.OpKind;
import org.junit.jupiter.api.Test;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;

/** FLOP and byte counts of single ops, worked by hand. */
class OpCostTest {

    private static INDArray a(long... shape) {
        return Nd4j.create(DataType.FLOAT, shape);
    }

    @Test
    void aConvolutionIsTwoFlopsPerTapAndInputChannelPlusItsBias() {
        // 3x3 conv, 16 -> 24 channels, output [2, 24, 10, 10] (NCHW or NHWC alike): 4800 outputs
        OpCost c = OpCost.of(OpKind.CONV2D, List.of(a(2, 16, 12, 12), a(3, 3, 16, 24), a(24)), new INDArray[] {a(2, 24, 10, 10)});
        assertEquals(2.0 * 4800 * 9 * 16 + 4800, c.flops());
        assertEquals(4.0 * (2 * 16 * 12 * 12 + 9 * 16 * 24 + 24 + 4800), c.bytes());
        assertTrue(OpCost.isCompute(OpKind.CONV2D));
    }

    @Test
    void aDepthwiseConvolutionHasNoInputChannelSum() {
        OpCost c = OpCost.of(OpKind.DEPTHWISE_CONV2D, List.of(a(1, 8, 8, 32), a(3, 3, 32, 1), a(32)),
                new INDArray[] {a(1, 8, 8, 32)});
        assertEquals(2.0 * 2048 * 9 + 2048, c.flops());
    }

    @Test
    void aMatrixProductIsTwoMkn() {
        assertEquals(2.0 * 5 * 7 * 3 + 15, OpCost.of(OpKind.DENSE, List.of(a(5, 7), a(7, 3), a(3)),
                new INDArray[] {a(5, 3)}).flops());
        assertEquals(2.0 * 5 * 7 * 3, OpCost.of(OpKind.MATMUL, List.of(a(5, 7), a(7, 3)), new INDArray[] {a(5, 3)}).flops());
    }

    @Test
    void otherOpsCountOneFlopPerOutputElement() {
        OpCost c = OpCost.of(OpKind.RELU6, List.of(a(4, 6)), new INDArray[] {a(4, 6)});
        assertEquals(24, c.flops());
        assertEquals(2 * 24 * 4, c.bytes());
        assertFalse(OpCost.isCompute(OpKind.RELU6));
    }
}
