package org.dfq4j.rewrite.graph;

import java.util.List;
import org.nd4j.autodiff.samediff.SDVariable;
import org.nd4j.autodiff.samediff.SameDiff;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.api.ops.BaseTransformSameOp;

/**
 * min(max(x, lo), hi) in one pass: libnd4j's legacy ClipByValue transform (transform-same op 19),
 * which ND4J 1.0.0-M2.1 has no Java class for (its {@code ClipByValue} custom op is about 4x slower).
 * Lowered fake-quant networks clip to their integer levels with it.
 */
public final class LevelClip extends BaseTransformSameOp {

    /** For ND4J's reflection; not for use. */
    public LevelClip() {
    }

    /** The op in a graph: clip {@code x} to [lo, hi]. */
    public LevelClip(SameDiff sd, SDVariable x, double lo, double hi) {
        super(sd, x, false);
        this.extraArgs = new Object[] {lo, hi};
    }

    /** The op on arrays: z = clip(x, lo, hi). */
    public LevelClip(INDArray x, INDArray z, double lo, double hi) {
        super(x, z);
        this.extraArgs = new Object[] {lo, hi};
    }

    @Override
    public int opNum() {
        return 19;
    }

    @Override
    public String opName() {
        return OpKind.LEVEL_CLIP.opName();
    }

    @Override
    public List<SDVariable> doDiff(List<SDVariable> f1) {
        throw new UnsupportedOperationException("LevelClip is for inference only");
    }
}
