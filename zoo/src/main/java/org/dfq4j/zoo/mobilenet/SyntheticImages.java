package org.dfq4j.zoo.mobilenet;

import java.util.Random;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;

/**
 * Deterministic image-like inputs in [-1, 1]: per image a few smooth colour blobs over a gradient, so
 * that neighbouring pixels are correlated as in photographs (white noise is a poor stand-in: it has no
 * low frequencies and drives a convolutional network into an atypical regime).
 */
public final class SyntheticImages {
    private SyntheticImages() {
    }

    /** A batch [n, channels, h, w] of generated images, a pure function of the seed. */
    public static INDArray generate(int n, int channels, int h, int w, long seed) {
        Random rnd = new Random(seed);
        float[] out = new float[n * channels * h * w];
        for (int i = 0; i < n; i++) {
            int blobs = 3 + rnd.nextInt(4);
            double[][] blob = new double[blobs][];
            for (int k = 0; k < blobs; k++) {
                double[] colour = new double[channels];
                for (int c = 0; c < channels; c++) {
                    colour[c] = 2 * rnd.nextDouble() - 1;
                }
                blob[k] = new double[] {rnd.nextDouble() * h, rnd.nextDouble() * w, (0.1 + 0.4 * rnd.nextDouble()) * h};
                blob[k] = concat(blob[k], colour);
            }
            double[] grad = {rnd.nextGaussian() * 0.3, rnd.nextGaussian() * 0.3};
            for (int c = 0; c < channels; c++) {
                double base = 0.3 * (2 * rnd.nextDouble() - 1);
                for (int y = 0; y < h; y++) {
                    for (int x = 0; x < w; x++) {
                        double v = base + grad[0] * (y / (double) h - 0.5) + grad[1] * (x / (double) w - 0.5);
                        for (double[] bl : blob) {
                            double dy = y - bl[0];
                            double dx = x - bl[1];
                            v += bl[3 + c] * Math.exp(-(dy * dy + dx * dx) / (2 * bl[2] * bl[2]));
                        }
                        v += 0.05 * rnd.nextGaussian();
                        out[((i * channels + c) * h + y) * w + x] = (float) Math.max(-1, Math.min(1, v));
                    }
                }
            }
        }
        return Nd4j.createFromArray(out).reshape(n, channels, h, w);
    }

    private static double[] concat(double[] a, double[] b) {
        double[] r = new double[a.length + b.length];
        System.arraycopy(a, 0, r, 0, a.length);
        System.arraycopy(b, 0, r, a.length, b.length);
        return r;
    }
}
