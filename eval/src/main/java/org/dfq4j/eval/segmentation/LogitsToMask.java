package org.dfq4j.eval.segmentation;

import com.google.common.base.Preconditions;

/**
 * Turns one image's logits [K, h, w] into a class mask of another size: the logits are resized
 * bilinearly (half-pixel centres, edges clamped, as Java2D, OpenCV and TF2's resize do) and each
 * output pixel takes the class with the largest interpolated logit (the lowest class on a tie).
 * Resizing logits rather than the argmax keeps class boundaries sub-pixel accurate.
 */
public final class LogitsToMask {

    private LogitsToMask() {
    }

    /**
     * @param logits planar logits; class k, row y, column x at {@code offset + (k * h + y) * w + x}
     * @param classes K
     * @param height h, the logits' height
     * @param width w, the logits' width
     * @param outHeight the mask's height
     * @param outWidth the mask's width
     */
    public static LabelMask argmax(float[] logits, int offset, int classes, int height, int width, int outHeight,
                                   int outWidth) {
        Preconditions.checkArgument(classes >= 1 && classes < LabelMask.IGNORE, "classes must be in 1..254: %s",
                classes);
        Preconditions.checkArgument(offset >= 0 && offset + (long) classes * height * width <= logits.length,
                "logits [%s,%s,%s] at offset %s exceed an array of %s", classes, height, width, offset, logits.length);
        Sampling ys = new Sampling(height, outHeight);
        Sampling xs = new Sampling(width, outWidth);
        int plane = height * width;
        byte[] out = new byte[outHeight * outWidth];
        for (int y = 0; y < outHeight; y++) {
            int r0 = offset + ys.lo[y] * width;
            int r1 = offset + ys.hi[y] * width;
            float fy = ys.frac[y];
            for (int x = 0; x < outWidth; x++) {
                int x0 = xs.lo[x];
                int x1 = xs.hi[x];
                float fx = xs.frac[x];
                float w00 = (1 - fy) * (1 - fx);
                float w01 = (1 - fy) * fx;
                float w10 = fy * (1 - fx);
                float w11 = fy * fx;
                int best = 0;
                float bestValue = Float.NEGATIVE_INFINITY;
                for (int k = 0, p = 0; k < classes; k++, p += plane) {
                    float v = w00 * logits[r0 + p + x0] + w01 * logits[r0 + p + x1]
                            + w10 * logits[r1 + p + x0] + w11 * logits[r1 + p + x1];
                    if (v > bestValue) {
                        bestValue = v;
                        best = k;
                    }
                }
                out[y * outWidth + x] = (byte) best;
            }
        }
        return new LabelMask(outWidth, outHeight, out);
    }

    /** For each output coordinate: the two source samples and the weight of the second. */
    private static final class Sampling {
        final int[] lo;
        final int[] hi;
        final float[] frac;

        Sampling(int in, int out) {
            lo = new int[out];
            hi = new int[out];
            frac = new float[out];
            double scale = (double) in / out;
            for (int i = 0; i < out; i++) {
                double s = Math.max(0, (i + 0.5) * scale - 0.5);
                int i0 = Math.min((int) s, in - 1);
                lo[i] = i0;
                hi[i] = Math.min(i0 + 1, in - 1);
                frac[i] = (float) (s - i0);
            }
        }
    }
}
