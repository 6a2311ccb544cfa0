package org.dfq4j.rewrite.graph;

import java.util.Arrays;
import org.dfq4j.rewrite.DfqException;
import org.nd4j.autodiff.samediff.SDVariable;
import org.nd4j.autodiff.samediff.VariableType;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;

/**
 * What every model reader checks about what a file declares before it builds on it: sizes within
 * sane limits, sliding windows that fit their input, finite numbers, and a graph that runs. Each
 * check returns a short description of the problem (null when there is none), or throws a
 * {@link DfqException} that starts with the file, so the reader's message names file, layer and fault.
 */
public final class ModelChecks {

    /** Largest image side, window, stride, dilation or padding a model may declare. */
    public static final long MAX_SIDE = 16_384;
    /**
     * Largest number of values in one image of a network's input (C x H x W), and in one sample of a
     * tensor a layer makes larger than its input (resize, padding): 2^24, 64 MiB of floats (3 x 2364 x
     * 2364). Beyond it one image would take minutes and gigabytes: a damaged size, not a model.
     */
    public static final long MAX_INPUT_VALUES = 1L << 24;
    public static final long MAX_TENSOR_VALUES = MAX_INPUT_VALUES;

    private ModelChecks() {
    }

    /** The problem with an input of C x H x W, or null when it is sane. */
    public static String inputProblem(long channels, long height, long width) {
        if (channels < 1 || height < 1 || width < 1) {
            return "input size " + channels + "x" + height + "x" + width + " (CxHxW) has a dimension below 1";
        }
        if (height > MAX_SIDE || width > MAX_SIDE || channels > MAX_SIDE
                || (double) channels * height * width > MAX_INPUT_VALUES) {
            return "input size " + channels + "x" + height + "x" + width + " (CxHxW) is beyond what this program "
                    + "handles (sides up to " + MAX_SIDE + ", " + MAX_INPUT_VALUES + " values per image); the file "
                    + "is damaged or not an image model";
        }
        return null;
    }

    /** The problem with a tensor of the given per-sample size made by a layer that enlarges its input, or null. */
    public static String tensorProblem(long... shape) {
        double n = 1;
        for (long d : shape) {
            if (d < 0) {
                return "size " + java.util.Arrays.toString(shape) + " has a negative dimension";
            }
            n *= d;
        }
        return n > MAX_TENSOR_VALUES ? "size " + java.util.Arrays.toString(shape) + " holds more than "
                + MAX_TENSOR_VALUES + " values per image; the file is damaged" : null;
    }

    /**
     * The problem with one spatial axis of a sliding window (convolution or pooling), or null: kernel,
     * stride and dilation at least 1 and at most {@link #MAX_SIDE}; padding on each side smaller than
     * the dilated kernel (so every window covers input); the dilated kernel no larger than the
     * padded input.
     *
     * @param axis "height" or "width", for the message
     */
    public static String windowProblem(String axis, long in, long kernel, long stride, long dilation, long padBefore,
                                       long padAfter) {
        if (kernel < 1 || stride < 1 || dilation < 1) {
            return axis + ": kernel " + kernel + ", stride " + stride + " and dilation " + dilation
                    + " must each be at least 1";
        }
        if (kernel > MAX_SIDE || stride > MAX_SIDE || dilation > MAX_SIDE || padBefore > MAX_SIDE
                || padAfter > MAX_SIDE) {
            return axis + ": kernel " + kernel + ", stride " + stride + ", dilation " + dilation + " or padding "
                    + padBefore + "+" + padAfter + " is larger than " + MAX_SIDE;
        }
        if (padBefore < 0 || padAfter < 0) {
            return axis + ": negative padding " + padBefore + "+" + padAfter;
        }
        long window = (kernel - 1) * dilation + 1;
        if (in + padBefore + padAfter < window) {
            return axis + ": the " + (dilation > 1 ? "dilated " : "") + "window of " + window + " (kernel " + kernel
                    + (dilation > 1 ? ", dilation " + dilation : "") + ") is larger than the padded input of "
                    + (in + padBefore + padAfter) + " (input " + in + ")";
        }
        if (padBefore >= window || padAfter >= window) {
            return axis + ": padding " + padBefore + "+" + padAfter + " is not smaller than the window of " + window
                    + ", so windows would hold padding only";
        }
        return null;
    }

    /** TensorFlow's SAME padding of one axis, {before, after} (the odd one at the end). */
    public static long[] samePadding(long in, long kernel, long stride, long dilation) {
        long window = (kernel - 1) * dilation + 1;
        long out = (in + stride - 1) / stride;
        long total = Math.max(0, (out - 1) * stride + window - in);
        return new long[] {total / 2, total - total / 2};
    }

    /**
     * The problem with a window of either padding kind (SAME: TensorFlow's rule), over both axes of an
     * input of {@code inH x inW}, or null. Explicit padding is {@code pad}'s.
     */
    public static String windowProblem(long inH, long inW, long kH, long kW, long sH, long sW, long dH, long dW,
                                       Padding pad) {
        long[] ph;
        long[] pw;
        if (pad.mode() == Padding.Mode.SAME) {
            if (kH < 1 || kW < 1 || sH < 1 || sW < 1 || dH < 1 || dW < 1) {
                ph = new long[2];
                pw = new long[2];
            } else {
                ph = samePadding(inH, kH, sH, dH);
                pw = samePadding(inW, kW, sW, dW);
            }
        } else {
            ph = new long[] {pad.top(), pad.bottom()};
            pw = new long[] {pad.left(), pad.right()};
        }
        String h = windowProblem("height", inH, kH, sH, dH, ph[0], ph[1]);
        return h != null ? h : windowProblem("width", inW, kW, sW, dW, pw[0], pw[1]);
    }

    /** Arrays up to this length are scanned in Java; a native op costs more than the scan below it. */
    private static final long JAVA_SCAN = 1 << 20;

    /**
     * The problem with a BatchNorm's variance and epsilon, or null: epsilon finite and at least 0,
     * every variance at least 0 and variance + epsilon above 0 (the normalization divides by its root).
     *
     * @param variance how messages call the variance, e.g. "weight 'moving_variance'"
     */
    public static String batchNormProblem(String variance, INDArray var, double eps) {
        if (!(eps >= 0) || Double.isInfinite(eps)) {
            return "epsilon " + eps + " must be finite and at least 0";
        }
        for (long i = 0; i < var.length(); i++) {
            double v = var.getDouble(i);
            if (v < 0 || v + eps <= 0) {
                return variance + " is " + (v < 0 ? "negative" : "0 with epsilon 0") + " (" + v + ") for channel " + i
                        + "; a variance must be positive";
            }
        }
        return null;
    }

    /** Index (in C order) of the first NaN or infinite value of a floating-point array, or -1. */
    public static long firstNonFinite(INDArray a) {
        if (a == null || !a.dataType().isFPType() || a.isEmpty()) {
            return -1;
        }
        // a non-finite value makes the sum non-finite: one native pass clears a large finite array
        if (a.length() > JAVA_SCAN && Double.isFinite(a.sumNumber().doubleValue())) {
            return -1;
        }
        INDArray c = a.isView() || a.ordering() != 'c' || a.data().length() != a.length() ? a.dup('c') : a;
        if (c.dataType() == DataType.DOUBLE) {
            double[] v = c.data().asDouble();
            for (int i = 0; i < v.length; i++) {
                if (!Double.isFinite(v[i])) {
                    return i;
                }
            }
            return -1;
        }
        float[] v = c.dataType() == DataType.FLOAT ? c.data().asFloat() : c.castTo(DataType.FLOAT).data().asFloat();
        for (int i = 0; i < v.length; i++) {
            if (!Float.isFinite(v[i])) {
                return i;
            }
        }
        return -1;
    }

    /** "holds NaN at index 4 of [3,3,2,3]", or null when every value is finite. */
    public static String nonFinite(INDArray a) {
        long i = firstNonFinite(a);
        if (i < 0) {
            return null;
        }
        double v = a.dup('c').reshape(a.length()).getDouble(i);
        return "holds " + v + " at index " + i + " of " + Arrays.toString(a.shape());
    }

    /** The first non-finite value of a float array as "holds NaN at index 4", or null. */
    public static String nonFinite(float[] v) {
        for (int i = 0; i < v.length; i++) {
            if (!Float.isFinite(v[i])) {
                return "holds " + v[i] + " at index " + i;
            }
        }
        return null;
    }

    /**
     * Every floating-point constant of the network is finite.
     *
     * @throws DfqException "{where}: constant 'name' holds NaN at index ..." for the first that is not
     */
    public static void requireFiniteConstants(Network net, String where) {
        for (SDVariable v : net.sameDiff().variables()) {
            if (v.getVariableType() == VariableType.CONSTANT) {
                String bad = nonFinite(v.getArr());
                if (bad != null) {
                    throw new DfqException(where + ": constant '" + v.name() + "' " + bad
                            + "; the file holds a value out of float range or a division by zero");
                }
            }
        }
    }

    /**
     * Runs the network once on a zero image, so that a graph ND4J cannot execute (a layer whose
     * declared shapes contradict its data) is refused when it is read, not at its first use.
     *
     * @throws DfqException "{where}: the imported graph does not run: ..." when it cannot
     */
    public static void requireRuns(Network net, String where) {
        long[] in = net.inputShape();
        INDArray zeros = Nd4j.zeros(DataType.FLOAT, 1, in[0], in[1], in[2]);
        try {
            net.runUnchecked(zeros, net.outputs());
        } catch (DfqException e) {
            throw e;
        } catch (RuntimeException e) {
            String m = e.getMessage() == null ? e.getClass().getSimpleName() : e.getMessage();
            throw new DfqException(where + ": the imported graph does not run (" + m.replaceAll("\\s+", " ").trim()
                    + "); the file is damaged, or declares shapes that contradict its layers", e);
        }
    }

    /** {@link #requireFiniteConstants} then {@link #requireRuns}: what every reader checks last. */
    public static Network requireUsable(Network net, String where) {
        requireFiniteConstants(net, where);
        requireRuns(net, where);
        return net;
    }
}
