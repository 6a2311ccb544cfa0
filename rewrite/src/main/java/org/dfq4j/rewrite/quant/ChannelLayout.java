package org.dfq4j.rewrite.quant;

import java.util.Arrays;
import org.dfq4j.rewrite.DfqException;
import org.dfq4j.rewrite.graph.WeightLayer;
import org.nd4j.linalg.api.ndarray.INDArray;

/**
 * Where the channels of a tensor lie in its C-order (row-major) data: element i belongs to channel
 * (i / inner) % channels. A per-tensor layout has one channel. The output channels of every
 * canonical weight layer are its trailing axes (conv [kH,kW,in,out]: out; depthwise [kH,kW,C,m]:
 * C*m with channel c*m+j; dense [in,out]: out), so their inner stride is 1.
 *
 * @param channels number of channels
 * @param inner    number of consecutive elements of one channel (product of the axes after the channel axis)
 */
public record ChannelLayout(int channels, long inner) {

    public ChannelLayout {
        if (channels < 1 || inner < 1) {
            throw new IllegalArgumentException("invalid channel layout: " + channels + " channels, inner " + inner);
        }
    }

    /** The whole tensor as one channel. */
    public static ChannelLayout perTensor() {
        return new ChannelLayout(1, 1);
    }

    /** Channels along one axis of a tensor. */
    public static ChannelLayout axis(long[] shape, int axis) {
        if (axis < 0 || axis >= shape.length) {
            throw new DfqException("per-channel axis " + axis + " does not exist in a tensor of shape "
                    + Arrays.toString(shape) + "; use an axis from 0 to " + (shape.length - 1));
        }
        long inner = 1;
        for (int d = axis + 1; d < shape.length; d++) {
            inner *= shape[d];
        }
        return new ChannelLayout(Math.toIntExact(shape[axis]), inner);
    }

    /** The output channels of a weight tensor of the given layer kind. */
    public static ChannelLayout outputChannels(WeightLayer.Kind kind, long[] weightShape) {
        long out = switch (kind) {
            case CONV -> weightShape[3];
            case DEPTHWISE -> weightShape[2] * weightShape[3];
            case DENSE -> weightShape[1];
        };
        return new ChannelLayout(Math.toIntExact(out), 1);
    }

    /** The layout a scheme gives a tensor: per tensor, per output channel of a layer kind, or per axis. */
    public static ChannelLayout of(QuantScheme scheme, long[] shape, WeightLayer.Kind kind) {
        if (!scheme.perChannel()) {
            return perTensor();
        }
        if (scheme.channelAxis() == QuantScheme.OUTPUT_CHANNELS) {
            if (kind == null) {
                throw new DfqException("quantization scheme '" + scheme + "' needs a weight layer to find output "
                        + "channels; give a per-channel axis for a plain tensor");
            }
            return outputChannels(kind, shape);
        }
        return axis(shape, scheme.channelAxis());
    }

    /** The channel of element i of the C-order data. */
    public int channelOf(long i) {
        return (int) ((i / inner) % channels);
    }

    /** Per-channel minimum and maximum of C-order data: {mins, maxs}. */
    public double[][] minMax(float[] data) {
        double[] mins = new double[channels];
        double[] maxs = new double[channels];
        Arrays.fill(mins, Double.POSITIVE_INFINITY);
        Arrays.fill(maxs, Double.NEGATIVE_INFINITY);
        for (int i = 0; i < data.length; i++) {
            int c = channelOf(i);
            mins[c] = Math.min(mins[c], data[i]);
            maxs[c] = Math.max(maxs[c], data[i]);
        }
        return new double[][] {mins, maxs};
    }

    /** The C-order float data of an array (a copy). */
    static float[] data(INDArray a) {
        return a.castTo(org.nd4j.linalg.api.buffer.DataType.FLOAT).dup('c').data().asFloat();
    }
}
