package org.dfq4j.rewrite.testing;

import org.dfq4j.rewrite.graph.WeightLayer;
import org.nd4j.autodiff.samediff.SameDiff;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.ops.transforms.Transforms;

/** max|w| per output or input channel of a weight layer, computed with ND4J reductions (an independent check). */
public final class ChannelRanges {

    private ChannelRanges() {
    }

    public static double[] out(SameDiff sd, WeightLayer l) {
        INDArray a = Transforms.abs(sd.getArrForVarName(l.weights()).castTo(DataType.DOUBLE), true);
        return switch (l.kind()) {
            case CONV -> a.max(0, 1, 2).toDoubleVector();
            case DEPTHWISE -> a.max(0, 1).reshape(a.size(2) * a.size(3)).toDoubleVector();
            case DENSE -> a.max(0).toDoubleVector();
        };
    }

    public static double[] in(SameDiff sd, WeightLayer l) {
        INDArray a = Transforms.abs(sd.getArrForVarName(l.weights()).castTo(DataType.DOUBLE), true);
        return l.kind() == WeightLayer.Kind.DENSE ? a.max(1).toDoubleVector() : a.max(0, 1, 3).toDoubleVector();
    }
}
