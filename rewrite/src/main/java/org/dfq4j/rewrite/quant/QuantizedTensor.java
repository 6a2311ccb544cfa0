package org.dfq4j.rewrite.quant;

import java.util.List;
import org.dfq4j.rewrite.graph.WeightLayer;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;

/**
 * A tensor replaced by its fake-quantized float value (quantized to integer levels and mapped back),
 * with the quantizer of each channel and the signal-to-quantization-noise ratio.
 *
 * @param values   the fake-quantized tensor, same shape as the input, float
 * @param channels one quantizer per channel (one for a per-tensor scheme)
 * @param sqnrDb   10 log10(sum x^2 / sum (x - x_hat)^2); +Infinity when nothing changed
 */
public record QuantizedTensor(INDArray values, List<QuantParams> channels, double sqnrDb) {

    public QuantizedTensor {
        channels = List.copyOf(channels);
    }

    /** Fake-quantizes a tensor with a scheme; a per-output-channel scheme needs {@code kind}, else it may be null. */
    public static QuantizedTensor of(INDArray x, QuantScheme scheme, WeightLayer.Kind kind) {
        return of(x, scheme, ChannelLayout.of(scheme, x.shape(), kind));
    }

    /** Fake-quantizes a layer's weights with a scheme and a rounding. */
    public static QuantizedTensor of(INDArray x, QuantScheme scheme, WeightLayer.Kind kind, Rounding rounding) {
        ChannelLayout layout = ChannelLayout.of(scheme, x.shape(), kind);
        return rounding == Rounding.NEAREST ? of(x, scheme, layout) : of(x, scheme, layout, kind);
    }

    /** Fake-quantizes a plain tensor (per tensor, or per channel along the scheme's axis). */
    public static QuantizedTensor of(INDArray x, QuantScheme scheme) {
        return of(x, scheme, (WeightLayer.Kind) null);
    }

    /** Fake-quantizes each channel of a layout with its own min/max range. */
    public static QuantizedTensor of(INDArray x, QuantScheme scheme, ChannelLayout layout) {
        return of(x, scheme, layout, null);
    }

    /** With {@code dataFree} (a layer kind), rounded by {@link DataFreeRounding}, else to nearest. */
    private static QuantizedTensor of(INDArray x, QuantScheme scheme, ChannelLayout layout, WeightLayer.Kind dataFree) {
        float[] data = ChannelLayout.data(x);
        double[][] mm = layout.minMax(data);
        QuantParams[] params = new QuantParams[layout.channels()];
        for (int c = 0; c < params.length; c++) {
            // an empty channel (no elements) keeps +-Infinity bounds; give it the all-zero quantizer
            double lo = mm[0][c] <= mm[1][c] ? mm[0][c] : 0;
            double hi = mm[0][c] <= mm[1][c] ? mm[1][c] : 0;
            params[c] = QuantParams.of(scheme, lo, hi);
        }
        long[] levels = dataFree == null ? null : DataFreeRounding.levels(data, dataFree, x.shape(), layout, params);
        float[] out = new float[data.length];
        double signal = 0;
        double noise = 0;
        for (int i = 0; i < data.length; i++) {
            QuantParams p = params[layout.channelOf(i)];
            out[i] = levels == null ? dequantized(p, data[i]) : dequantizedLevel(p, levels[i], data[i]);
            double e = (double) data[i] - out[i];
            signal += (double) data[i] * data[i];
            noise += e * e;
        }
        INDArray values = Nd4j.create(out, x.shape(), 'c');
        return new QuantizedTensor(values, List.of(params), sqnrDb(signal, noise));
    }

    /**
     * x quantized, then dequantized in float32 as a runtime's DequantizeLinear computes it,
     * (float) (q - z) * (float) s, so that an exported int8 tensor dequantizes to exactly these values.
     */
    static float dequantized(QuantParams p, float x) {
        return p.scale() == 0 ? x : (float) (p.quantize(x) - p.zeroPoint()) * (float) p.scale();
    }

    /** An integer level dequantized in float32 as {@link #dequantized} does; an all-zero channel keeps x. */
    static float dequantizedLevel(QuantParams p, long level, float x) {
        return p.scale() == 0 ? x : (float) (level - p.zeroPoint()) * (float) p.scale();
    }

    /** 10 log10(signal / noise) from sums of squares; +Infinity for zero noise. */
    static double sqnrDb(double signal, double noise) {
        return noise == 0 ? Double.POSITIVE_INFINITY : 10 * Math.log10(signal / noise);
    }

    /** Smallest nonzero channel scale (0 if every channel is all zeros). */
    public double minScale() {
        return channels.stream().mapToDouble(QuantParams::scale).filter(s -> s > 0).min().orElse(0);
    }

    /** Largest channel scale. */
    public double maxScale() {
        return channels.stream().mapToDouble(QuantParams::scale).max().orElse(0);
    }
}
