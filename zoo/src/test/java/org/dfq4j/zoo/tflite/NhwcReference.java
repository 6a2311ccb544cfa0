package org.dfq4j.zoo.tflite;

import java.util.Random;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;

/**
 * Naive loops that compute TFLite ops in TFLite's own NHWC layout and weight layouts, written from
 * the TFLite/TensorFlow definitions, to check the NCHW graphs the reader builds.
 */
final class NhwcReference {

    /** One image (batch 1) in NHWC order: v[(y * w + x) * c + ch]. */
    record Image(int h, int w, int c, float[] v) {
        float at(int y, int x, int ch) {
            return v[(y * w + x) * c + ch];
        }

        static Image random(int h, int w, int c, long seed) {
            Random r = new Random(seed);
            float[] v = new float[h * w * c];
            for (int i = 0; i < v.length; i++) {
                v[i] = (float) r.nextGaussian();
            }
            return new Image(h, w, c, v);
        }

        /** As the reader's graph input: [1, C, H, W]. */
        INDArray toNchw() {
            return Nd4j.create(v, new long[] {1, h, w, c}, 'c').permute(0, 3, 1, 2).dup('c');
        }

        /** From a graph output [1, C, H, W]. */
        static Image fromNchw(INDArray a) {
            INDArray nhwc = a.permute(0, 2, 3, 1).dup('c').castTo(DataType.FLOAT);
            return new Image((int) a.size(2), (int) a.size(3), (int) a.size(1), nhwc.data().asFloat());
        }
    }

    private NhwcReference() {
    }

    static float[] randomFloats(int n, long seed) {
        Random r = new Random(seed);
        float[] v = new float[n];
        for (int i = 0; i < n; i++) {
            v[i] = (float) (r.nextGaussian() * 0.5);
        }
        return v;
    }

    /** TF SAME: out = ceil(in / s), pad_total = max((out - 1) * s + k_eff - in, 0), top = pad_total / 2. */
    static int sameOut(int in, int stride) {
        return (in + stride - 1) / stride;
    }

    static int samePadBefore(int in, int k, int stride, int dilation) {
        int keff = (k - 1) * dilation + 1;
        return Math.max((sameOut(in, stride) - 1) * stride + keff - in, 0) / 2;
    }

    /**
     * CONV_2D with weights [out, kh, kw, in] or DEPTHWISE_CONV_2D with weights [1, kh, kw, in * mult]
     * (output channel o reads input channel o / mult), bias [out], SAME or VALID padding.
     */
    static Image conv(Image x, float[] w, float[] bias, int kh, int kw, int outC, boolean depthwise, int stride,
                      int dilation, boolean same) {
        int keffH = (kh - 1) * dilation + 1;
        int keffW = (kw - 1) * dilation + 1;
        int oh = same ? sameOut(x.h(), stride) : (x.h() - keffH) / stride + 1;
        int ow = same ? sameOut(x.w(), stride) : (x.w() - keffW) / stride + 1;
        int top = same ? samePadBefore(x.h(), kh, stride, dilation) : 0;
        int left = same ? samePadBefore(x.w(), kw, stride, dilation) : 0;
        int mult = outC / x.c();
        float[] out = new float[oh * ow * outC];
        for (int oy = 0; oy < oh; oy++) {
            for (int ox = 0; ox < ow; ox++) {
                for (int o = 0; o < outC; o++) {
                    double sum = bias == null ? 0 : bias[o];
                    for (int ky = 0; ky < kh; ky++) {
                        for (int kx = 0; kx < kw; kx++) {
                            int iy = oy * stride + ky * dilation - top;
                            int ix = ox * stride + kx * dilation - left;
                            if (iy < 0 || iy >= x.h() || ix < 0 || ix >= x.w()) {
                                continue;
                            }
                            if (depthwise) {
                                sum += x.at(iy, ix, o / mult) * w[(ky * kw + kx) * outC + o];
                            } else {
                                for (int c = 0; c < x.c(); c++) {
                                    sum += x.at(iy, ix, c) * w[((o * kh + ky) * kw + kx) * x.c() + c];
                                }
                            }
                        }
                    }
                    out[(oy * ow + ox) * outC + o] = (float) sum;
                }
            }
        }
        return new Image(oh, ow, outC, out);
    }

    /** Max |a - b| over two equally long arrays. */
    static double maxAbsDiff(float[] a, float[] b) {
        if (a.length != b.length) {
            throw new AssertionError("lengths differ: " + a.length + " vs " + b.length);
        }
        double m = 0;
        for (int i = 0; i < a.length; i++) {
            m = Math.max(m, Math.abs(a[i] - b[i]));
        }
        return m;
    }
}
