package org.dfq4j.rewrite.quant;

import org.dfq4j.rewrite.DfqException;

/**
 * How a tensor is quantized: bit width, symmetric or asymmetric (METHOD.md section 0), and one
 * range for the whole tensor or one range per channel along {@link #channelAxis()}.
 *
 * <p>For weights, {@link #perChannel(int, boolean)} means "per output channel of each layer", the
 * axis resolved per layer kind (conv [kH,kW,in,out]: axis 3; depthwise [kH,kW,C,m]: axes 2 and 3
 * together, channel c*m+j; dense [in,out]: axis 1); that is {@link #OUTPUT_CHANNELS}.
 *
 * @param bits        2 to 16
 * @param symmetric   zero point 0 and integer range [-(2^(b-1)-1), 2^(b-1)-1]; else [0, 2^b-1]
 * @param perChannel  one range per channel instead of one per tensor
 * @param channelAxis the channel axis of a per-channel scheme, or {@link #OUTPUT_CHANNELS}; -1 for per-tensor
 */
public record QuantScheme(int bits, boolean symmetric, boolean perChannel, int channelAxis) {

    /** Marks a per-channel scheme whose axis is each weight layer's output-channel axis. */
    public static final int OUTPUT_CHANNELS = -2;

    public static final int MIN_BITS = 2;
    public static final int MAX_BITS = 16;

    public QuantScheme {
        if (bits < MIN_BITS || bits > MAX_BITS) {
            throw new DfqException("quantization bit width " + bits + " is not supported; use " + MIN_BITS
                    + " to " + MAX_BITS + " bits");
        }
        if (!perChannel && channelAxis != -1) {
            throw new DfqException("a per-tensor quantization scheme has no channel axis (got " + channelAxis
                    + "); use QuantScheme.perChannel for per-channel ranges");
        }
        if (perChannel && channelAxis < 0 && channelAxis != OUTPUT_CHANNELS) {
            throw new DfqException("per-channel quantization axis " + channelAxis
                    + " is invalid; give a non-negative axis or OUTPUT_CHANNELS");
        }
    }

    /** One range for the whole tensor. */
    public static QuantScheme perTensor(int bits, boolean symmetric) {
        return new QuantScheme(bits, symmetric, false, -1);
    }

    /** One range per output channel of each weight layer. */
    public static QuantScheme perChannel(int bits, boolean symmetric) {
        return new QuantScheme(bits, symmetric, true, OUTPUT_CHANNELS);
    }

    /** One range per index of {@code axis} of a plain tensor. */
    public static QuantScheme perChannel(int bits, boolean symmetric, int axis) {
        if (axis < 0) {
            throw new DfqException("per-channel quantization axis " + axis + " is invalid; axes count from 0");
        }
        return new QuantScheme(bits, symmetric, true, axis);
    }

    /** Smallest integer level: 0, or -(2^(b-1)-1) when symmetric. */
    public long qMin() {
        return symmetric ? -((1L << (bits - 1)) - 1) : 0;
    }

    /** Largest integer level: 2^b-1, or 2^(b-1)-1 when symmetric. */
    public long qMax() {
        return symmetric ? (1L << (bits - 1)) - 1 : (1L << bits) - 1;
    }

    /** Number of distinct levels the scheme can produce per range. */
    public long levels() {
        return qMax() - qMin() + 1;
    }

    /** Short description, e.g. "8-bit asymmetric per-tensor" or "4-bit symmetric per-channel". */
    @Override
    public String toString() {
        String granularity = !perChannel ? "per-tensor"
                : channelAxis == OUTPUT_CHANNELS ? "per-channel" : "per-channel(axis " + channelAxis + ")";
        return bits + "-bit " + (symmetric ? "symmetric" : "asymmetric") + " " + granularity;
    }
}
