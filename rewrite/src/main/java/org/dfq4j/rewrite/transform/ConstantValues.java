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
        float[] f = floats(g.constant(constant));
        double[] d = new double[f.length];
        for (int i = 0; i < f.length; i++) {
            d[i] = f[i];
        }
        return d;
    }

    /**
     * A copy of an array's values in C order as floats. A plain float array is copied straight from
     * its buffer: rewrites call this per layer, and each native op has a fixed cost.
     */
    static float[] floats(INDArray a) {
        boolean plain = a.dataType() == DataType.FLOAT && a.ordering() == 'c' && !a.isView()
                && a.offset() == 0 && a.data().length() == a.length();
        return (plain ? a : a.castTo(DataType.FLOAT).dup('c')).data().asFloat();
    }

    /** A float array of the given shape holding v. */
    static INDArray array(double[] v, long[] shape) {
        float[] f = new float[v.length];
        for (int i = 0; i < f.length; i++) {
            f[i] = (float) v[i];
        }
        return Nd4j.createFromArray(f).reshape(shape);
    }
}
