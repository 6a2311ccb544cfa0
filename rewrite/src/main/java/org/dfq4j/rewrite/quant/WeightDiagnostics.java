package org.dfq4j.rewrite.quant;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import org.dfq4j.rewrite.graph.Network;
import org.dfq4j.rewrite.graph.WeightLayer;
import org.dfq4j.rewrite.view.GraphView;
import org.nd4j.linalg.api.ndarray.INDArray;

/**
 * Per weight tensor: how unequal its output channels' ranges are (what cross-layer equalization
 * fixes, the paper's figure 2) and how well a scheme quantizes it. One record per layer, to tabulate
 * before and after a pipeline. A channel's range is max - min of its weights.
 *
 * @param layer          the layer's output variable
 * @param kind           conv, depthwise or dense
 * @param channels       output channels
 * @param rangeMaxOverMin    largest channel range / smallest nonzero channel range (NaN if all are zero)
 * @param rangeMaxOverMedian largest channel range / median nonzero channel range (NaN if all are zero)
 * @param zeroChannels   channels whose weights are all zero
 * @param sqnrDb         SQNR of quantizing the tensor with {@code scheme}, dB
 * @param scheme         the scheme the SQNR is for
 */
public record WeightDiagnostics(String layer, WeightLayer.Kind kind, int channels, double rangeMaxOverMin,
                                double rangeMaxOverMedian, int zeroChannels, double sqnrDb, QuantScheme scheme) {

    /** Diagnostics of every weight layer of a network, in topological order. */
    public static List<WeightDiagnostics> of(Network net, QuantScheme scheme) {
        GraphView g = GraphView.of(net);
        List<WeightDiagnostics> out = new ArrayList<>();
        for (WeightLayer l : g.weightLayers()) {
            if (g.isConstant(l.weights())) {
                out.add(of(l.output(), l.kind(), g.constant(l.weights()), scheme));
            }
        }
        return out;
    }

    /** Diagnostics of one weight tensor. */
    public static WeightDiagnostics of(String layer, WeightLayer.Kind kind, INDArray w, QuantScheme scheme) {
        ChannelLayout layout = ChannelLayout.outputChannels(kind, w.shape());
        double[][] mm = layout.minMax(ChannelLayout.data(w));
        double[] ranges = new double[layout.channels()];
        int zero = 0;
        for (int c = 0; c < ranges.length; c++) {
            ranges[c] = mm[1][c] - mm[0][c];
            if (ranges[c] == 0 && mm[0][c] == 0) {
                zero++;
            }
        }
        double[] nonzero = Arrays.stream(ranges).filter(r -> r > 0).sorted().toArray();
        double max = nonzero.length == 0 ? Double.NaN : nonzero[nonzero.length - 1];
        double min = nonzero.length == 0 ? Double.NaN : nonzero[0];
        double median = nonzero.length == 0 ? Double.NaN
                : nonzero.length % 2 == 1 ? nonzero[nonzero.length / 2]
                : 0.5 * (nonzero[nonzero.length / 2 - 1] + nonzero[nonzero.length / 2]);
        double sqnr = QuantizedTensor.of(w, scheme, kind).sqnrDb();
        return new WeightDiagnostics(layer, kind, ranges.length, max / min, max / median, zero, sqnr, scheme);
    }
}
