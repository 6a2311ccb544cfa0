package org.dfq4j.rewrite.transform;

import org.dfq4j.rewrite.view.GraphView;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;

/** Reads a constant as a flat double vector and writes one back in a given shape. */
final class ConstantValues {

    private ConstantValues() {
    }

    /** The constant's values in C order. */
    static double[] read(GraphView g, String constant) {
        INDArray a = g.constant(constant);
        return a.castTo(DataType.DOUBLE).dup('c').reshape(a.length()).toDoubleVector();
    }

    /** A float array of the given shape holding v. */
    static INDArray array(double[] v, long[] shape) {
        return Nd4j.createFromArray(v).castTo(DataType.FLOAT).reshape(shape);
    }
}
