package org.dfq4j.zoo.tflite;

import static org.dfq4j.zoo.tflite.NhwcReference.Image;
import static org.dfq4j.zoo.tflite.NhwcReference.maxAbsDiff;
import static org.dfq4j.zoo.tflite.NhwcReference.randomFloats;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.Random;
import org.dfq4j.rewrite.graph.OpKind;
import org.dfq4j.rewrite.graph.Network;
import org.dfq4j.rewrite.graph.TensorRange;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.nd4j.autodiff.samediff.SameDiff;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.tensorflow.lite.schema.ActivationFunctionType;
import org.tensorflow.lite.schema.AddOptions;
import org.tensorflow.lite.schema.BuiltinOperator;
import org.tensorflow.lite.schema.BuiltinOptions;
import org.tensorflow.lite.schema.ConcatenationOptions;
import org.tensorflow.lite.schema.Conv2DOptions;
import org.tensorflow.lite.schema.DepthwiseConv2DOptions;
import org.tensorflow.lite.schema.FullyConnectedOptions;
import org.tensorflow.lite.schema.MulOptions;
import org.tensorflow.lite.schema.Padding;
import org.tensorflow.lite.schema.Pool2DOptions;
import org.tensorflow.lite.schema.ReducerOptions;
import org.tensorflow.lite.schema.SoftmaxOptions;
import org.tensorflow.lite.schema.TensorType;

/**
 * The reader on tiny models written in the test: every numeric check compares the NCHW graph's
 * output with a naive NHWC loop over TFLite's own weight layouts (TF's SAME rule included).
 */
class TfliteReaderTest {

    private static final double TOL = 1e-4;

    @TempDir
    Path dir;

    private Network read(byte[] model) throws IOException {
        Path f = dir.resolve("tiny.tflite");
        Files.write(f, model);
        return TfliteReader.read(f);
    }

    private static int conv2dOptions(TinyTflite t, byte padding, int stride, int dilation, byte act) {
        return Conv2DOptions.createConv2DOptions(t.fb(), padding, stride, stride, act, dilation, dilation);
    }

    private static int depthwiseOptions(TinyTflite t, byte padding, int stride, int mult, int dilation) {
        return DepthwiseConv2DOptions.createDepthwiseConv2DOptions(t.fb(), padding, stride, stride, mult,
                ActivationFunctionType.NONE, dilation, dilation);
    }

    private static float[] floats(INDArray a) {
        return a.dup('c').castTo(DataType.FLOAT).data().asFloat();
    }

    private static Image run(Network n, Image x) {
        return Image.fromNchw(n.output(x.toNchw()));
    }

    @Test
    void int8PerChannelConvWithSamePaddingStride2MatchesTfRule() throws IOException {
        // H = 8: out 4, pad total 1 (0 top, 1 bottom); W = 7: out 4, pad total 2 (1, 1).
        int h = 8, w = 7, c = 3, out = 4, k = 3;
        Random r = new Random(1);
        byte[] q = new byte[out * k * k * c];
        for (int i = 0; i < q.length; i++) {
            q[i] = (byte) (r.nextInt(255) - 127);
        }
        float[] wScale = {0.01f, 0.02f, 0.005f, 0.04f};
        float inScale = 1f / 64;
        int[] biasQ = {1000, -2000, 300, 0};
        float[] wReal = new float[q.length];
        for (int i = 0; i < q.length; i++) {
            wReal[i] = q[i] * wScale[i / (k * k * c)];
        }
        float[] bReal = new float[out];
        for (int o = 0; o < out; o++) {
            bReal[o] = biasQ[o] * inScale * wScale[o];
        }

        TinyTflite t = new TinyTflite();
        int x = t.activation("x", 1, h, w, c);
        int xq = t.quantizedActivation("x_int8", TensorType.INT8, inScale, 0, 1, h, w, c);
        int wt = t.int8("conv/weights", q, wScale, 0, out, k, k, c);
        int bt = t.int32Unscaled("conv/bias", biasQ, out);
        int y = t.quantizedActivation("conv/out", TensorType.INT8, 0.05f, 3, 1, 4, 4, out);
        t.op(BuiltinOperator.QUANTIZE, new int[] {x}, new int[] {xq});
        int opts = conv2dOptions(t, Padding.SAME, 2, 1, ActivationFunctionType.NONE);
        t.op(BuiltinOperator.CONV_2D, BuiltinOptions.Conv2DOptions, opts, new int[] {xq, wt, bt}, new int[] {y});
        Network n = read(t.finish(new int[] {x}, new int[] {y}));

        Image in = Image.random(h, w, c, 7);
        Image expected = NhwcReference.conv(in, wReal, bReal, k, k, out, false, 2, 1, true);
        Image got = run(n, in);
        assertEquals(List.of(4, 4, out), List.of(got.h(), got.w(), got.c()));
        assertTrue(maxAbsDiff(expected.v(), got.v()) < TOL, "max diff " + maxAbsDiff(expected.v(), got.v()));
        // the output's recorded quantization: [(-128 - 3) * 0.05, (127 - 3) * 0.05]
        TensorRange range = n.recordedRanges().get("conv/out");
        assertEquals(-131 * 0.05, range.min(), 1e-6);
        assertEquals(124 * 0.05, range.max(), 1e-6);
    }

    @Test
    void depthwiseWithMultiplierAndSamePaddingStride2MatchesTfRule() throws IOException {
        int h = 8, w = 7, c = 3, mult = 2, k = 3;
        float[] wv = randomFloats(k * k * c * mult, 2);
        float[] bv = randomFloats(c * mult, 3);
        TinyTflite t = new TinyTflite();
        int x = t.activation("x", 1, h, w, c);
        int wt = t.floats("dw/weights", wv, 1, k, k, c * mult);
        int bt = t.floats("dw/bias", bv, c * mult);
        int y = t.activation("dw/out", 1, 4, 4, c * mult);
        t.op(BuiltinOperator.DEPTHWISE_CONV_2D, BuiltinOptions.DepthwiseConv2DOptions,
                depthwiseOptions(t, Padding.SAME, 2, mult, 1), new int[] {x, wt, bt}, new int[] {y});
        Network n = read(t.finish(new int[] {x}, new int[] {y}));

        Image in = Image.random(h, w, c, 8);
        Image expected = NhwcReference.conv(in, wv, bv, k, k, c * mult, true, 2, 1, true);
        assertTrue(maxAbsDiff(expected.v(), run(n, in).v()) < TOL);
    }

    @Test
    void dilatedConvAndDepthwiseMatchTfRule() throws IOException {
        int h = 9, w = 10, c = 2, k = 3;
        float[] dwv = randomFloats(k * k * c, 4);
        float[] cv = randomFloats(3 * k * k * c, 5);
        TinyTflite t = new TinyTflite();
        int x = t.activation("x", 1, h, w, c);
        int dwt = t.floats("dw/weights", dwv, 1, k, k, c);
        int y1 = t.activation("dw/out", 1, h, w, c);
        t.op(BuiltinOperator.DEPTHWISE_CONV_2D, BuiltinOptions.DepthwiseConv2DOptions,
                depthwiseOptions(t, Padding.SAME, 1, 1, 2), new int[] {x, dwt, -1}, new int[] {y1});
        int ct = t.floats("conv/weights", cv, 3, k, k, c);
        int y2 = t.activation("conv/out", 1, 5, 6, 3);
        t.op(BuiltinOperator.CONV_2D, BuiltinOptions.Conv2DOptions,
                conv2dOptions(t, Padding.VALID, 1, 2, ActivationFunctionType.NONE), new int[] {y1, ct, -1}, new int[] {y2});
        Network n = read(t.finish(new int[] {x}, new int[] {y1, y2}));

        Image in = Image.random(h, w, c, 9);
        Image dw = NhwcReference.conv(in, dwv, null, k, k, c, true, 1, 2, true);
        Image conv = NhwcReference.conv(dw, cv, null, k, k, 3, false, 1, 2, false);
        Map<String, INDArray> out = n.run(in.toNchw());
        assertTrue(maxAbsDiff(dw.v(), Image.fromNchw(out.get(n.outputs().get(0))).v()) < TOL);
        assertTrue(maxAbsDiff(conv.v(), Image.fromNchw(out.get(n.outputs().get(1))).v()) < TOL);
    }

    @Test
    void reshapeMeanConcatPadFullyConnectedFollowNhwcSemantics() throws IOException {
        int h = 4, w = 3, c = 2, f = 5;
        float[] c1 = randomFloats(f * c, 10);
        float[] c2 = randomFloats(f * c, 11);
        float[] fc = randomFloats(3 * h * w * f, 12);
        float[] fcb = randomFloats(3, 13);
        TinyTflite t = new TinyTflite();
        int x = t.activation("x", 1, h, w, c);
        int a = t.activation("a", 1, h, w, f);
        int b = t.activation("b", 1, h, w, f);
        int noAct = ActivationFunctionType.NONE;
        t.op(BuiltinOperator.CONV_2D, BuiltinOptions.Conv2DOptions, conv2dOptions(t, Padding.SAME, 1, 1, (byte) noAct),
                new int[] {x, t.floats("a/w", c1, f, 1, 1, c), -1}, new int[] {a});
        t.op(BuiltinOperator.CONV_2D, BuiltinOptions.Conv2DOptions, conv2dOptions(t, Padding.SAME, 1, 1, (byte) noAct),
                new int[] {x, t.floats("b/w", c2, f, 1, 1, c), -1}, new int[] {b});
        int flat = t.activation("flat", 1, h * w * f);
        t.op(BuiltinOperator.RESHAPE, new int[] {a, t.ints("flat/shape", new int[] {1, h * w * f}, 2)}, new int[] {flat});
        int mean = t.activation("mean", 1, f);
        int meanOpts = ReducerOptions.createReducerOptions(t.fb(), false);
        t.op(BuiltinOperator.MEAN, BuiltinOptions.ReducerOptions, meanOpts,
                new int[] {a, t.ints("mean/axes", new int[] {1, 2}, 2)}, new int[] {mean});
        int meanC = t.activation("meanC", 1, h, w);
        int meanCOpts = ReducerOptions.createReducerOptions(t.fb(), false);
        t.op(BuiltinOperator.MEAN, BuiltinOptions.ReducerOptions, meanCOpts,
                new int[] {a, t.ints("meanC/axes", new int[] {-1}, 1)}, new int[] {meanC});
        int cat = t.activation("cat", 1, h, w, 2 * f);
        int catOpts = ConcatenationOptions.createConcatenationOptions(t.fb(), -1, ActivationFunctionType.NONE);
        t.op(BuiltinOperator.CONCATENATION, BuiltinOptions.ConcatenationOptions, catOpts, new int[] {a, b}, new int[] {cat});
        int padded = t.activation("padded", 1, h + 3, w + 1, f);
        t.op(BuiltinOperator.PAD, new int[] {a, t.ints("pad/amounts", new int[] {0, 0, 1, 2, 0, 1, 0, 0}, 4, 2)},
                new int[] {padded});
        int dense = t.activation("dense", 1, 3);
        int fcOpts = FullyConnectedOptions.createFullyConnectedOptions(t.fb(), ActivationFunctionType.NONE, (byte) 0, false, false);
        t.op(BuiltinOperator.FULLY_CONNECTED, BuiltinOptions.FullyConnectedOptions, fcOpts,
                new int[] {a, t.floats("fc/w", fc, 3, h * w * f), t.floats("fc/b", fcb, 3)}, new int[] {dense});
        Network n = read(t.finish(new int[] {x}, new int[] {flat, mean, meanC, cat, padded, dense}));

        Image in = Image.random(h, w, c, 14);
        Image ra = NhwcReference.conv(in, c1, null, 1, 1, f, false, 1, 1, true);
        Image rb = NhwcReference.conv(in, c2, null, 1, 1, f, false, 1, 1, true);
        Map<String, INDArray> out = n.run(in.toNchw());
        List<String> names = n.outputs();

        assertTrue(maxAbsDiff(ra.v(), floats(out.get(names.get(0)))) < TOL, "RESHAPE flattens in NHWC order");

        float[] rMean = new float[f];
        float[] rMeanC = new float[h * w];
        for (int p = 0; p < h * w; p++) {
            for (int ch = 0; ch < f; ch++) {
                rMean[ch] += ra.v()[p * f + ch] / (h * w);
                rMeanC[p] += ra.v()[p * f + ch] / f;
            }
        }
        assertTrue(maxAbsDiff(rMean, floats(out.get(names.get(1)))) < TOL, "MEAN over H,W");
        assertArrayEquals(new long[] {1, h, w}, out.get(names.get(2)).shape());
        assertTrue(maxAbsDiff(rMeanC, floats(out.get(names.get(2)))) < TOL, "MEAN over C keeps H,W order");

        Image cat2 = Image.fromNchw(out.get(names.get(3)));
        float[] rCat = new float[h * w * 2 * f];
        for (int p = 0; p < h * w; p++) {
            System.arraycopy(ra.v(), p * f, rCat, p * 2 * f, f);
            System.arraycopy(rb.v(), p * f, rCat, p * 2 * f + f, f);
        }
        assertTrue(maxAbsDiff(rCat, cat2.v()) < TOL, "CONCATENATION on the channel axis");

        Image pad = Image.fromNchw(out.get(names.get(4)));
        assertEquals(List.of(h + 3, w + 1, f), List.of(pad.h(), pad.w(), pad.c()));
        for (int y = 0; y < pad.h(); y++) {
            for (int xx = 0; xx < pad.w(); xx++) {
                for (int ch = 0; ch < f; ch++) {
                    boolean inside = y >= 1 && y < 1 + h && xx < w;
                    float expected = inside ? ra.at(y - 1, xx, ch) : 0f;
                    assertEquals(expected, pad.at(y, xx, ch), TOL, "PAD at " + y + "," + xx);
                }
            }
        }

        float[] rDense = new float[3];
        for (int o = 0; o < 3; o++) {
            double s = fcb[o];
            for (int i = 0; i < h * w * f; i++) {
                s += fc[o * h * w * f + i] * ra.v()[i];
            }
            rDense[o] = (float) s;
        }
        assertTrue(maxAbsDiff(rDense, floats(out.get(names.get(5)))) < TOL, "FULLY_CONNECTED on NHWC-flattened input");
    }

    @Test
    void addAndMulBroadcastConstantsAlongChannels() throws IOException {
        int h = 3, w = 2, c = 4;
        float[] bias = {1f, -2f, 3f, 0.5f};
        TinyTflite t = new TinyTflite();
        int x = t.activation("x", 1, h, w, c);
        int conv = t.activation("conv", 1, h, w, c);
        float[] id = new float[c * c];
        for (int i = 0; i < c; i++) {
            id[i * c + i] = 1f;
        }
        t.op(BuiltinOperator.CONV_2D, BuiltinOptions.Conv2DOptions,
                conv2dOptions(t, Padding.SAME, 1, 1, ActivationFunctionType.NONE),
                new int[] {x, t.floats("conv/w", id, c, 1, 1, c), -1}, new int[] {conv});
        int added = t.activation("added", 1, h, w, c);
        int addOpts = AddOptions.createAddOptions(t.fb(), ActivationFunctionType.RELU, false);
        t.op(BuiltinOperator.ADD, BuiltinOptions.AddOptions, addOpts,
                new int[] {conv, t.floats("bias", bias, c)}, new int[] {added});
        int scaled = t.activation("scaled", 1, h, w, c);
        int mulOpts = MulOptions.createMulOptions(t.fb(), ActivationFunctionType.NONE);
        t.op(BuiltinOperator.MUL, BuiltinOptions.MulOptions, mulOpts,
                new int[] {t.floats("half", new float[] {0.5f}), added}, new int[] {scaled});
        Network n = read(t.finish(new int[] {x}, new int[] {scaled}));

        Image in = Image.random(h, w, c, 15);
        float[] expected = new float[in.v().length];
        for (int i = 0; i < expected.length; i++) {
            expected[i] = 0.5f * Math.max(0f, in.v()[i] + bias[i % c]);
        }
        assertTrue(maxAbsDiff(expected, run(n, in).v()) < TOL);
    }

    @Test
    void fusedActivationBecomesSeparateOpAndRangeIsKeyedByItsVariable() throws IOException {
        TinyTflite t = new TinyTflite();
        int x = t.activation("x", 1, 4, 4, 2);
        int y = t.quantizedActivation("block/Relu6;block/BiasAdd", TensorType.UINT8, 6f / 255, 0, 1, 4, 4, 3);
        int fused = t.quantizedActivation("fused", TensorType.UINT8, 6f / 255, 0, 1, 4, 4, 3);
        byte[] q = new byte[3 * 2];
        for (int i = 0; i < q.length; i++) {
            q[i] = (byte) (100 + 20 * i);
        }
        int wt = t.uint8("block/weights", q, 0.01f, 128, 3, 1, 1, 2);
        // old-TOCO style: activation NONE, but the uint8 range [0, 6] means the kernel clamps like ReLU6
        t.op(BuiltinOperator.CONV_2D, BuiltinOptions.Conv2DOptions,
                conv2dOptions(t, Padding.SAME, 1, 1, ActivationFunctionType.NONE), new int[] {x, wt, -1}, new int[] {y});
        int wt2 = t.uint8("fused/weights", new byte[9], 0.01f, 128, 3, 1, 1, 3);
        t.op(BuiltinOperator.CONV_2D, BuiltinOptions.Conv2DOptions,
                conv2dOptions(t, Padding.SAME, 1, 1, ActivationFunctionType.RELU6), new int[] {y, wt2, -1}, new int[] {fused});
        Network n = read(t.finish(new int[] {x}, new int[] {fused}));
        SameDiff sd = n.sameDiff();

        for (String name : List.of("block/Relu6", "fused")) {
            assertEquals(OpKind.RELU6, OpKind.of(sd.getVariableOutputOp(name)), name);
            assertEquals(OpKind.CONV2D, OpKind.of(sd.getVariableOutputOp(name + "/conv2d")), name);
            TensorRange r = n.recordedRanges().get(name);
            assertEquals(0.0, r.min(), 0.0);
            assertEquals(6.0, r.max(), 1e-6);
        }
        // uint8 weights dequantized per tensor: (q - 128) * 0.01, laid out [kh, kw, in, out]
        INDArray wArr = sd.getArrForVarName("block/Relu6/conv2d/W");
        assertArrayEquals(new long[] {1, 1, 2, 3}, wArr.shape());
        for (int o = 0; o < 3; o++) {
            for (int i = 0; i < 2; i++) {
                assertEquals(((q[o * 2 + i] & 0xFF) - 128) * 0.01, wArr.getDouble(0, 0, i, o), 1e-6);
            }
        }
        INDArray out = n.output(Image.random(4, 4, 2, 16).toNchw());
        assertTrue(out.minNumber().doubleValue() >= 0 && out.maxNumber().doubleValue() <= 6);
        assertEquals(DataType.FLOAT, out.dataType());
    }

    @Test
    void poolingWithSamePaddingStride2IgnoresPaddedCells() throws IOException {
        int h = 7, w = 6, c = 2, k = 3, oh = 4, ow = 3;
        TinyTflite t = new TinyTflite();
        int x = t.activation("x", 1, h, w, c);
        int max = t.activation("max", 1, oh, ow, c);
        int avg = t.activation("avg", 1, oh, ow, c);
        t.op(BuiltinOperator.MAX_POOL_2D, BuiltinOptions.Pool2DOptions,
                Pool2DOptions.createPool2DOptions(t.fb(), Padding.SAME, 2, 2, k, k, ActivationFunctionType.NONE),
                new int[] {x}, new int[] {max});
        t.op(BuiltinOperator.AVERAGE_POOL_2D, BuiltinOptions.Pool2DOptions,
                Pool2DOptions.createPool2DOptions(t.fb(), Padding.SAME, 2, 2, k, k, ActivationFunctionType.NONE),
                new int[] {x}, new int[] {avg});
        // global mean kept as [1,1,1,C], squeezed to [1,C], softmax over C
        int mean = t.activation("mean", 1, 1, 1, c);
        t.op(BuiltinOperator.MEAN, BuiltinOptions.ReducerOptions, ReducerOptions.createReducerOptions(t.fb(), true),
                new int[] {x, t.ints("axes", new int[] {1, 2}, 2)}, new int[] {mean});
        int squeezed = t.activation("squeezed", 1, c);
        t.op(BuiltinOperator.SQUEEZE, new int[] {mean}, new int[] {squeezed});
        int probs = t.activation("probs", 1, c);
        t.op(BuiltinOperator.SOFTMAX, BuiltinOptions.SoftmaxOptions, SoftmaxOptions.createSoftmaxOptions(t.fb(), 2f),
                new int[] {squeezed}, new int[] {probs});
        Network n = read(t.finish(new int[] {x}, new int[] {max, avg, probs}));

        Image in = Image.random(h, w, c, 17);
        Map<String, INDArray> out = n.run(in.toNchw());
        Image gotMax = Image.fromNchw(out.get(n.outputs().get(0)));
        Image gotAvg = Image.fromNchw(out.get(n.outputs().get(1)));
        int top = NhwcReference.samePadBefore(h, k, 2, 1);
        int left = NhwcReference.samePadBefore(w, k, 2, 1);
        for (int oy = 0; oy < oh; oy++) {
            for (int ox = 0; ox < ow; ox++) {
                for (int ch = 0; ch < c; ch++) {
                    double m = Double.NEGATIVE_INFINITY;
                    double sum = 0;
                    int count = 0;
                    for (int ky = 0; ky < k; ky++) {
                        for (int kx = 0; kx < k; kx++) {
                            int iy = oy * 2 + ky - top;
                            int ix = ox * 2 + kx - left;
                            if (iy >= 0 && iy < h && ix >= 0 && ix < w) {
                                m = Math.max(m, in.at(iy, ix, ch));
                                sum += in.at(iy, ix, ch);
                                count++;
                            }
                        }
                    }
                    assertEquals(m, gotMax.at(oy, ox, ch), TOL, "max pool at " + oy + "," + ox);
                    assertEquals(sum / count, gotAvg.at(oy, ox, ch), TOL, "average pool at " + oy + "," + ox);
                }
            }
        }
        double[] logits = new double[c];
        for (int i = 0; i < in.v().length; i++) {
            logits[i % c] += 2.0 * in.v()[i] / (h * w); // beta = 2
        }
        double z = Math.exp(logits[0]) + Math.exp(logits[1]);
        INDArray p = out.get(n.outputs().get(2));
        assertArrayEquals(new long[] {1, c}, p.shape());
        assertEquals(Math.exp(logits[0]) / z, p.getDouble(0, 0), TOL);
        assertEquals(Math.exp(logits[1]) / z, p.getDouble(0, 1), TOL);
    }

    @Test
    void propertiesNameFormatAndSource() throws IOException {
        Network n = read(TinyTflite.unary(BuiltinOperator.RELU));
        assertEquals("tflite", n.properties().get("format"));
        assertEquals(dir.resolve("tiny.tflite").toString(), n.properties().get("source"));
        assertEquals("tiny", n.name());
        assertArrayEquals(new long[] {1, 2, 2}, n.inputShape());
    }
}
