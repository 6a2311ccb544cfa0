package org.dfq4j.eval.metric;

import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import com.google.common.base.Preconditions;

/**
 * The k highest scores of a row, best first. Ties keep the lower index first; NaN ranks below
 * every number.
 */
public final class Ranking {

    private Ranking() {
    }

    /** Indices of the k largest of {@code scores[from .. from + length)}, relative to from. */
    public static int[] top(float[] scores, int from, int length, int k) {
        Preconditions.checkArgument(k >= 1 && length >= 1, "k and length must be >= 1");
        int n = Math.min(k, length);
        int[] idx = new int[n];
        double[] val = new double[n];
        int filled = 0;
        for (int i = 0; i < length; i++) {
            float s = scores[from + i];
            double v = Float.isNaN(s) ? Double.NEGATIVE_INFINITY : s;
            if (filled == n && !(v > val[n - 1])) {
                continue;
            }
            int pos = filled < n ? filled++ : n - 1;
            while (pos > 0 && v > val[pos - 1]) {
                val[pos] = val[pos - 1];
                idx[pos] = idx[pos - 1];
                pos--;
            }
            val[pos] = v;
            idx[pos] = i;
        }
        return idx;
    }

    /** Row-wise top k of a score matrix [N, K]: one array of indices per row. */
    public static int[][] top(INDArray scores, int k) {
        Preconditions.checkArgument(scores.rank() == 2, "scores must be [N, K], got rank %s", scores.rank());
        int rows = (int) scores.size(0);
        int cols = (int) scores.size(1);
        float[] flat = scores.castTo(DataType.FLOAT).dup('c').data().asFloat();
        int[][] out = new int[rows][];
        for (int r = 0; r < rows; r++) {
            out[r] = top(flat, r * cols, cols, k);
        }
        return out;
    }
}
