package org.dfq4j.zoo.onnx;

import java.util.Arrays;
import org.nd4j.autodiff.samediff.SDVariable;
import org.nd4j.linalg.api.ndarray.INDArray;

/**
 * What an ONNX tensor name stands for during import: a tensor computed by the SameDiff graph, or a
 * value known on the host (an initializer, a Constant, or shape arithmetic folded at import).
 */
sealed interface Value {

    /**
     * A graph tensor with its static shape; axis 0 is always the batch, recorded as -1 because the
     * network's placeholder takes any batch size.
     */
    record GraphTensor(SDVariable var, long[] shape) implements Value {
        public GraphTensor {
            shape = shape.clone();
        }

        @Override
        public long[] shape() {
            return shape.clone();
        }

        int rank() {
            return shape.length;
        }

        long dim(int axis) {
            return shape[axis];
        }

        @Override
        public String toString() {
            return var.name() + Arrays.toString(shape);
        }
    }

    /**
     * A host value: FLOAT for real numbers, LONG for integers. In LONG arrays produced by {@code Shape},
     * {@link ShapeArithmetic#BATCH} stands for the batch size, which is unknown at import.
     */
    record HostConstant(INDArray array) implements Value {
    }

    /**
     * The integer output of QuantizeLinear applied to a graph tensor, waiting for the DequantizeLinear
     * that turns the pair into one fake-quant ({@link QdqConversion}); no other op may read it.
     */
    record Quantized(GraphTensor x, float scale, long zeroPoint, long qMin, long qMax) implements Value {
    }
}
