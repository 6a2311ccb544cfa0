package org.dfq4j.rewrite.graph;

import java.util.Arrays;
import java.util.List;
import java.util.Map;
import org.nd4j.autodiff.samediff.SDVariable;
import org.nd4j.autodiff.samediff.SameDiff;
import org.nd4j.enums.ImageResizeMethod;
import org.nd4j.enums.WeightsFormat;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.api.ops.impl.layers.convolution.Pooling2D;
import org.nd4j.linalg.api.ops.impl.layers.convolution.config.Conv2DConfig;
import org.nd4j.linalg.api.ops.impl.layers.convolution.config.PaddingMode;
import org.nd4j.linalg.api.ops.impl.layers.convolution.config.Pooling2DConfig;
import org.nd4j.linalg.api.ops.impl.transforms.custom.FakeQuantWithMinMaxVars;
import org.nd4j.linalg.factory.Nd4j;
import org.nd4j.linalg.indexing.NDArrayIndex;

/**
 * Emits the canonical op forms every reader and builder in dfq4j produces, so that rewrite rules
 * see one vocabulary:
 *
 * <ul>
 *   <li>convolution: op {@code conv2d}, inputs (x, W[kH,kW,in,out], b[out]), NCHW; a bias always exists;
 *   <li>depthwise: op {@code depthwise_conv2d}, inputs (x, W[kH,kW,C,mult], b[C*mult]), NCHW;
 *   <li>fully connected: op {@code xw_plus_b}, inputs (x[N,in], W[in,out], b[out]);
 *   <li>BatchNorm: op {@code batchnorm}, inputs (x, mean, var, gamma, beta), channel axis 1;
 *   <li>asymmetric zero padding: a {@code pad} op before a VALID window;
 *   <li>dilation: the equivalent dense kernel with zeros between the taps (see {@link #undilated}).
 * </ul>
 *
 * Weights and biases are constants named {@code <layer>/W} and {@code <layer>/b}; the layer's
 * output variable is named after the layer.
 */
public final class NetworkBuilder {

    private final String name;
    private final SameDiff sd = SameDiff.create();
    private final SDVariable input;
    private final long[] inputShape;

    public NetworkBuilder(String name, long channels, long height, long width) {
        this.name = name;
        this.inputShape = new long[] {channels, height, width};
        this.input = sd.placeHolder("input", DataType.FLOAT, -1, channels, height, width);
    }

    public SameDiff sameDiff() {
        return sd;
    }

    public SDVariable input() {
        return input;
    }

    public SDVariable constant(String varName, INDArray value) {
        return sd.constant(varName, value.castTo(DataType.FLOAT));
    }

    /** Convolution with weights [kH,kW,in,out] (HWIO) and a bias of out values (zeros when null). */
    public SDVariable conv2d(String layer, SDVariable x, INDArray wHWIO, INDArray bias, int strideH, int strideW,
                             Padding pad, int dilH, int dilW) {
        return window(layer, x, wHWIO, bias, new int[] {strideH, strideW, dilH, dilW}, pad, false);
    }

    /** Depthwise convolution with weights [kH,kW,C,mult] and a bias of C*mult values (zeros when null). */
    public SDVariable depthwiseConv2d(String layer, SDVariable x, INDArray wHWCM, INDArray bias, int strideH,
                                      int strideW, Padding pad, int dilH, int dilW) {
        return window(layer, x, wHWCM, bias, new int[] {strideH, strideW, dilH, dilW}, pad, true);
    }

    /** A convolution or depthwise convolution; {@code sd4} = strides and dilations (sH, sW, dH, dW). */
    private SDVariable window(String layer, SDVariable x, INDArray w4, INDArray bias, int[] sd4, Padding pad,
                              boolean depthwise) {
        requireRank(layer, w4, 4);
        long out = depthwise ? w4.size(2) * w4.size(3) : w4.size(3);
        SDVariable in = padIfAsymmetric(layer, x, pad);
        INDArray kernel = undilated(w4, sd4[2], sd4[3]);
        Conv2DConfig cfg = convConfig(kernel, sd4[0], sd4[1], pad);
        SDVariable w = constant(layer + "/W", kernel);
        SDVariable b = constant(layer + "/b", biasOrZeros(layer, bias, out));
        return depthwise ? sd.cnn().depthWiseConv2d(layer, in, w, b, cfg) : sd.cnn().conv2d(layer, in, w, b, cfg);
    }

    /** Fully connected: x[N,in] times W[in,out] plus b[out]. */
    public SDVariable dense(String layer, SDVariable x, INDArray wInOut, INDArray bias) {
        requireRank(layer, wInOut, 2);
        SDVariable w = constant(layer + "/W", wInOut);
        SDVariable b = constant(layer + "/b", biasOrZeros(layer, bias, wInOut.size(1)));
        return sd.nn().linear(layer, x, w, b);
    }

    public SDVariable batchNorm(String layer, SDVariable x, INDArray mean, INDArray var, INDArray gamma,
                                INDArray beta, double eps) {
        return sd.nn().batchNorm(layer, x, constant(layer + "/mean", vec(mean)), constant(layer + "/var", vec(var)),
                constant(layer + "/gamma", vec(gamma)), constant(layer + "/beta", vec(beta)), eps, 1);
    }

    public SDVariable relu(String n, SDVariable x) {
        return sd.nn().relu(n, x, 0.0);
    }

    public SDVariable relu6(String n, SDVariable x) {
        return sd.nn().relu6(n, x, 0.0);
    }

    public SDVariable leakyRelu(String n, SDVariable x, double alpha) {
        return sd.nn().leakyRelu(n, x, alpha);
    }

    /** min(max(x, lo), hi): a clip with bounds other than ReLU's or ReLU6's. */
    public SDVariable clip(String n, SDVariable x, double lo, double hi) {
        return sd.math().clipByValue(n, x, lo, hi);
    }

    /** Elementwise min(x, c), e.g. the per-channel clip min(x, t[1,C,1,1]) equalization keeps for ReLU6. */
    public SDVariable minimum(String n, SDVariable x, SDVariable c) {
        return sd.math().min(n, x, c);
    }

    /** Elementwise max(x, c). */
    public SDVariable maximum(String n, SDVariable x, SDVariable c) {
        return sd.math().max(n, x, c);
    }

    /**
     * Per-tensor fake quantization (quantize then dequantize) to the {@code bits}-bit levels of the
     * range [min, max], ND4J's {@code fake_quant_with_min_max_vars} (levels [1, 2^b-1] when narrow).
     */
    public SDVariable fakeQuant(String n, SDVariable x, double min, double max, int bits, boolean narrow) {
        SDVariable lo = sd.constant(n + "/fq_min", Nd4j.createFromArray((float) min));
        SDVariable hi = sd.constant(n + "/fq_max", Nd4j.createFromArray((float) max));
        SDVariable out = new FakeQuantWithMinMaxVars(sd, x, lo, hi, narrow, bits).outputVariable();
        sd.renameVariable(out.name(), n);
        return sd.getVariable(n);
    }

    public SDVariable sigmoid(String n, SDVariable x) {
        return sd.nn().sigmoid(n, x);
    }

    public SDVariable tanh(String n, SDVariable x) {
        return sd.math().tanh(n, x);
    }

    /** min(max(alpha x + beta, 0), 1) (ONNX HardSigmoid; PyTorch's hardsigmoid is alpha = 1/6, beta = 1/2). */
    public SDVariable hardSigmoid(String n, SDVariable x, double alpha, double beta) {
        return sd.math().clipByValue(n, x.mul(n + "/scale", alpha).add(n + "/shift", beta), 0.0, 1.0);
    }

    /** x * relu6(x + 3) / 6 (MobileNetV3's h-swish), built from primitive ops. */
    public SDVariable hardSwish(String n, SDVariable x) {
        SDVariable r = sd.nn().relu6(n + "/relu6", x.add(n + "/plus3", 3.0), 0.0);
        return x.mul(n + "/mul", r).div(n, 6.0);
    }

    /** Softmax over the channel axis (1) for [N,C] or [N,C,H,W]. */
    public SDVariable softmax(String n, SDVariable x) {
        return sd.nn().softmax(n, x, 1);
    }

    public SDVariable add(String n, SDVariable a, SDVariable b) {
        return sd.math().add(n, a, b);
    }

    public SDVariable mul(String n, SDVariable a, SDVariable b) {
        return sd.math().mul(n, a, b);
    }

    public SDVariable concat(String n, int axis, SDVariable... xs) {
        return sd.concat(n, axis, xs);
    }

    /** Average pooling; padded cells are excluded from the divisor (TensorFlow semantics). */
    public SDVariable avgPool(String n, SDVariable x, int kH, int kW, int sH, int sW, Padding pad) {
        return pool(n, x, kH, kW, sH, sW, pad, Pooling2D.Pooling2DType.AVG);
    }

    public SDVariable maxPool(String n, SDVariable x, int kH, int kW, int sH, int sW, Padding pad) {
        return pool(n, x, kH, kW, sH, sW, pad, Pooling2D.Pooling2DType.MAX);
    }

    private SDVariable pool(String n, SDVariable x, int kH, int kW, int sH, int sW, Padding pad,
                            Pooling2D.Pooling2DType type) {
        if (pad.mode() == Padding.Mode.EXPLICIT && !pad.symmetric()) {
            if (type == Pooling2D.Pooling2DType.AVG) {
                throw new UnsupportedOperationException("layer '" + n + "': asymmetric explicit padding for average pooling");
            }
            x = zeroPad(n + "/pad", x, pad.top(), pad.bottom(), pad.left(), pad.right());
            pad = Padding.VALID;
        }
        Pooling2DConfig cfg = Pooling2DConfig.builder().kH(kH).kW(kW).sH(sH).sW(sW)
                .pH(pad.top()).pW(pad.left()).dH(1).dW(1)
                .paddingMode(pad.mode() == Padding.Mode.SAME ? PaddingMode.SAME : PaddingMode.VALID)
                .type(type).divisor(Pooling2D.Divisor.EXCLUDE_PADDING).extra(0).isNHWC(false).build();
        return type == Pooling2D.Pooling2DType.AVG ? sd.cnn().avgPooling2d(n, x, cfg) : sd.cnn().maxPooling2d(n, x, cfg);
    }

    /** Global average pooling [N,C,H,W] to [N,C] (or [N,C,1,1] with keepDims). */
    public SDVariable globalAvgPool(String n, SDVariable x, boolean keepDims) {
        return sd.mean(n, x, keepDims, 2, 3);
    }

    /** Mean over the given axes (global average pooling is the case axes = (2, 3) of an NCHW tensor). */
    public SDVariable mean(String n, SDVariable x, boolean keepDims, int... axes) {
        return sd.mean(n, x, keepDims, axes);
    }

    /** Zero padding of the spatial axes of an NCHW tensor. */
    public SDVariable zeroPad(String n, SDVariable x, int top, int bottom, int left, int right) {
        return zeroPad(n, x, new int[][] {{0, 0}, {0, 0}, {top, bottom}, {left, right}});
    }

    /** Zero padding of any axes: amounts[axis] = {before, after}, one row per axis of x. */
    public SDVariable zeroPad(String n, SDVariable x, int[][] amounts) {
        return sd.nn().pad(n, x, sd.constant(n + "/paddings", Nd4j.createFromArray(amounts)), 0.0);
    }

    /**
     * Padding of the spatial axes of an NCHW tensor with a constant; max pooling reads padding of
     * -{@link Float#MAX_VALUE} as absent (a window with ONNX's ceil_mode reaching past the input).
     */
    public SDVariable constantPad(String n, SDVariable x, int top, int bottom, int left, int right, double value) {
        int[][] amounts = {{0, 0}, {0, 0}, {top, bottom}, {left, right}};
        return sd.nn().pad(n, x, sd.constant(n + "/paddings", Nd4j.createFromArray(amounts)), value);
    }

    /**
     * Elements begin[i] until end[i] by step[i] (> 0) of each axis i > 0; the batch axis 0 is taken whole
     * (begin[0], end[0] and step[0] are ignored).
     */
    public SDVariable slice(String n, SDVariable x, long[] begin, long[] end, long[] step) {
        long[] b = begin.clone();
        long[] e = end.clone();
        long[] s = step.clone();
        b[0] = 0;
        e[0] = 0;
        s[0] = 1;
        return sd.stridedSlice(n, x, b, e, s, 1, 1, 0, 0, 0);
    }

    /** The given indices along {@code axis} (> 0), in order; the axis keeps its place. */
    public SDVariable gather(String n, SDVariable x, int axis, int... indices) {
        return sd.gather(n, x, indices, axis);
    }

    public SDVariable reshape(String n, SDVariable x, long... shape) {
        return sd.reshape(n, x, shape);
    }

    /** Reorders the axes (e.g. NCHW to NHWC before a flatten that must follow a channels-last source). */
    public SDVariable permute(String n, SDVariable x, int... dims) {
        return sd.permute(n, x, dims);
    }

    /** [N, ...] to [N, prod(...)]. */
    public SDVariable flatten(String n, SDVariable x, long features) {
        return sd.reshape(n, x, -1, features);
    }

    /**
     * Bilinear resize of an NCHW tensor [N, channels, inH, inW] to [N, channels, outH, outW] with
     * TensorFlow's sampling rules (align_corners, half_pixel_centers or neither). Built as two
     * products with constant interpolation matrices, out = A_h X A_w^T per image and channel:
     * ND4J 1.0.0-M2.1 cannot copy or save a graph holding its own resize_bilinear op ("Error
     * setting property for function ResizeBilinear"), and the rewrites work on copies.
     */
    public SDVariable resizeBilinear(String n, SDVariable x, long channels, int inH, int inW, int outH, int outW,
                                     boolean alignCorners, boolean halfPixel) {
        SDVariable aw = sd.constant(n + "/Aw", interpolation(inW, outW, alignCorners, halfPixel).transpose().dup());
        SDVariable ah = sd.constant(n + "/Ah", interpolation(inH, outH, alignCorners, halfPixel).transpose().dup());
        SDVariable rows = sd.reshape(n + "/rows", x, -1, inW);
        SDVariable alongW = sd.reshape(n + "/alongW", rows.mmul(n + "/mmulW", aw), -1, inH, outW);
        SDVariable cols = sd.reshape(n + "/cols", sd.permute(n + "/swap", alongW, 0, 2, 1), -1, inH);
        SDVariable alongH = sd.reshape(n + "/alongH", cols.mmul(n + "/mmulH", ah), -1, channels, outW, outH);
        return sd.permute(n, alongH, 0, 1, 3, 2);
    }

    /**
     * The [out, in] matrix of 1-D linear interpolation as TensorFlow samples it: source coordinate
     * i*(in-1)/(out-1) with align_corners, (i+0.5)*in/out-0.5 with half-pixel centres, i*in/out
     * otherwise; the two neighbours floor and ceil of it, clamped to the input.
     */
    public static INDArray interpolation(int in, int out, boolean alignCorners, boolean halfPixel) {
        double scale = alignCorners && out > 1 ? (in - 1) / (double) (out - 1) : in / (double) out;
        float[] m = new float[out * in];
        for (int i = 0; i < out; i++) {
            double src = halfPixel ? (i + 0.5) * scale - 0.5 : i * scale;
            double floor = Math.floor(src);
            int lower = (int) Math.max(0, Math.min(in - 1, floor));
            int upper = (int) Math.max(0, Math.min(in - 1, Math.ceil(src)));
            double frac = src - floor;
            m[i * in + lower] += (float) (1 - frac);
            m[i * in + upper] += (float) frac;
        }
        return Nd4j.createFromArray(m).reshape(out, in);
    }

    /**
     * Nearest-neighbour resize of an NCHW tensor to h x w. For whole upsampling factors every pixel is
     * repeated (h/H) x (w/W) times; readers use it only for those (ND4J's resize works on NHWC,
     * hence the permutes).
     */
    public SDVariable resizeNearest(String n, SDVariable x, int h, int w) {
        SDVariable nhwc = sd.permute(n + "/nhwc", x, 0, 2, 3, 1);
        SDVariable size = sd.constant(n + "/size", Nd4j.createFromArray(h, w));
        SDVariable r = sd.image().imageResize(n + "/resized", nhwc, size, false, false, ImageResizeMethod.ResizeNearest);
        return sd.permute(n, r, 0, 3, 1, 2);
    }

    /** The network: the builder's graph, adopted ({@link Network#adopt}), with these outputs. */
    public Network build(String... outputs) {
        return Network.adopt(name, sd, input.name(), inputShape, List.of(outputs));
    }

    /** The network with these outputs and the activation ranges the source file recorded. */
    public Network build(List<String> outputs, Map<String, TensorRange> ranges) {
        return Network.adopt(name, sd, input.name(), inputShape, outputs).withRecordedRanges(ranges);
    }

    private SDVariable padIfAsymmetric(String layer, SDVariable x, Padding pad) {
        if (pad.mode() == Padding.Mode.EXPLICIT && !pad.symmetric()) {
            return zeroPad(layer + "/pad", x, pad.top(), pad.bottom(), pad.left(), pad.right());
        }
        return x;
    }

    /**
     * The undilated kernel equivalent to {@code w} [kH,kW,a,b] with dilation (dH,dW): taps at multiples
     * of the dilation, zeros between, size d*(k-1)+1. Same output and, as TF's SAME rule uses that
     * effective size, the same padding. ND4J 1.0.0-M2.1's oneDNN convolution fails on every dilated
     * convolution ("could not create a descriptor for a dilated convolution forward propagation
     * primitive"), so no graph carries a dilation. Zero taps stay zero under quantization and do not
     * change per-channel ranges or kernel sums, so the DFQ rewrites are unaffected.
     */
    static INDArray undilated(INDArray w, int dH, int dW) {
        if (dH < 1 || dW < 1) {
            throw new IllegalArgumentException("dilation must be positive, got " + dH + "," + dW);
        }
        if (dH == 1 && dW == 1) {
            return w;
        }
        long kh = w.size(0);
        long kw = w.size(1);
        INDArray out = Nd4j.zeros(DataType.FLOAT, dH * (kh - 1) + 1, dW * (kw - 1) + 1, w.size(2), w.size(3));
        for (long i = 0; i < kh; i++) {
            for (long j = 0; j < kw; j++) {
                out.get(NDArrayIndex.point(i * dH), NDArrayIndex.point(j * dW), NDArrayIndex.all(), NDArrayIndex.all())
                        .assign(w.get(NDArrayIndex.point(i), NDArrayIndex.point(j), NDArrayIndex.all(), NDArrayIndex.all()));
            }
        }
        return out;
    }

    private static Conv2DConfig convConfig(INDArray w, int sH, int sW, Padding pad) {
        boolean explicitSym = pad.mode() == Padding.Mode.EXPLICIT && pad.symmetric();
        return Conv2DConfig.builder().kH(w.size(0)).kW(w.size(1)).sH(sH).sW(sW)
                .pH(explicitSym ? pad.top() : 0).pW(explicitSym ? pad.left() : 0).dH(1).dW(1)
                .paddingMode(pad.mode() == Padding.Mode.SAME ? PaddingMode.SAME : PaddingMode.VALID)
                .dataFormat(Conv2DConfig.NCHW).weightsFormat(WeightsFormat.YXIO).build();
    }

    private static INDArray biasOrZeros(String layer, INDArray bias, long n) {
        if (bias == null) {
            return Nd4j.zeros(DataType.FLOAT, n);
        }
        if (bias.length() != n) {
            throw new IllegalArgumentException("layer '" + layer + "': bias has " + bias.length() + " values, expected " + n);
        }
        return vec(bias);
    }

    private static INDArray vec(INDArray a) {
        return a.reshape(a.length()).castTo(DataType.FLOAT);
    }

    private static void requireRank(String layer, INDArray w, int rank) {
        if (w.rank() != rank) {
            throw new IllegalArgumentException("layer '" + layer + "': weights must have rank " + rank + ", got shape "
                    + Arrays.toString(w.shape()));
        }
    }
}
