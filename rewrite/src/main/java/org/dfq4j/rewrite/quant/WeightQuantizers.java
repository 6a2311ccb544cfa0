package org.dfq4j.rewrite.quant;

import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import org.dfq4j.rewrite.engine.GraphEditor;
import org.dfq4j.rewrite.graph.Network;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;

/**
 * The quantizers {@link QuantizeWeights} used for each weight tensor, kept with the network (an
 * attachment per tensor, so copies and saved {@code .dfq} files carry them): one per output channel
 * of the layer in {@link ChannelLayout#outputChannels} order, or one for the whole tensor. An
 * exporter writes the integer levels from them, so that dequantizing them gives exactly the float
 * weights the simulation used.
 */
public final class WeightQuantizers {

    /** Attachment name prefix; the weight variable's name follows. */
    public static final String PREFIX = "quantizer:";

    private WeightQuantizers() {
    }

    /** Records the quantizers of a weight tensor (rows: scale, zero point, qMin, qMax). */
    public static void record(GraphEditor editor, String weights, List<QuantParams> channels) {
        double[][] rows = new double[channels.size()][];
        for (int c = 0; c < rows.length; c++) {
            QuantParams p = channels.get(c);
            rows[c] = new double[] {p.scale(), p.zeroPoint(), p.qMin(), p.qMax()};
        }
        editor.setAttachment(PREFIX + weights, Nd4j.createFromArray(rows).castTo(DataType.DOUBLE));
    }

    /** The recorded quantizers of a weight tensor, if it was quantized by {@link QuantizeWeights}. */
    public static Optional<List<QuantParams>> of(Network net, String weights) {
        INDArray a = net.attachments().get(PREFIX + weights);
        if (a == null || a.rank() != 2 || a.size(1) != 4) {
            return Optional.empty();
        }
        List<QuantParams> out = new ArrayList<>();
        for (int c = 0; c < a.size(0); c++) {
            out.add(new QuantParams(a.getDouble(c, 0), a.getLong(c, 1), a.getLong(c, 2), a.getLong(c, 3)));
        }
        return Optional.of(out);
    }

    /**
     * The scales as written to a model file (float32): an all-zero channel has scale 0, and since all
     * its levels are the zero point any scale represents it; it gets the largest scale of the tensor
     * (1/256 if every channel is zero), so that a bias scale s_in * s_w stays usable.
     */
    public static float[] scales(List<QuantParams> channels) {
        float fallback = (float) channels.stream().mapToDouble(QuantParams::scale).max().orElse(0);
        float[] s = new float[channels.size()];
        for (int c = 0; c < s.length; c++) {
            double v = channels.get(c).scale();
            s[c] = v > 0 ? (float) v : fallback > 0 ? fallback : 1f / 256;
        }
        return s;
    }
}
