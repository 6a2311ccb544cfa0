package org.dfq4j.rewrite;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.dfq4j.rewrite.engine.RewriteLog;
import org.dfq4j.rewrite.graph.Network;
import org.dfq4j.rewrite.graph.OpAttributes;
import org.dfq4j.rewrite.graph.OpKind;
import org.dfq4j.rewrite.graph.WeightLayer;
import org.dfq4j.rewrite.quant.ChannelLayout;
import org.dfq4j.rewrite.quant.QuantParams;
import org.dfq4j.rewrite.quant.QuantScheme;
import org.dfq4j.rewrite.quant.QuantizedTensor;
import org.dfq4j.rewrite.view.GraphView;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;

/**
 * Where a quantized network's error comes from, per weight layer and per quantized activation
 * tensor, read from the networks themselves (so any rounding or range estimator feeds it unchanged):
 *
 * <ul>
 *   <li>each layer's weights per output channel (five-number summaries) before the float rewrites
 *       (BatchNorm folded only) and after them (equalized), the paper's figure 2;
 *   <li>each layer's weight-quantization SQNR: before, with the recipe's scheme and nearest rounding
 *       on the unequalized weights; after, the quantized network's weights against the float ones;
 *   <li>each fake-quantized tensor's range (the fake-quant op's min and max) and how it was chosen
 *       (the rewrite log's entry for it); on calibration images, the range the values actually
 *       covered, the fraction clipped, the SQNR of quantizing this tensor alone and the SQNR of the
 *       8-bit network's value of it against FP32 (the error accumulated up to there).
 * </ul>
 *
 * @param network           the network's name
 * @param rangeSource       the activation range source's name, e.g. "calib:32", "bn", "none"
 * @param calibrationImages images the activation measurements ran on (0: not measured)
 * @param layers            weight layers of the float network, in topological order
 * @param activations       fake-quantized tensors of the quantized network, in topological order
 */
public record QuantizationReport(String network, String rangeSource, int calibrationImages, List<Layer> layers,
                                 List<Activation> activations) {

    public QuantizationReport {
        layers = List.copyOf(layers);
        activations = List.copyOf(activations);
    }

    /**
     * Five-number summary of one output channel's weights (quartiles interpolated linearly).
     * Its range max - min is the channel's weight range.
     */
    public record ChannelBox(double min, double q1, double median, double q3, double max) {

        /** max - min. */
        public double range() {
            return max - min;
        }

        /** The summary of values (sorted in place). */
        static ChannelBox of(float[] v) {
            Arrays.sort(v);
            return new ChannelBox(v[0], quantile(v, 0.25), quantile(v, 0.5), quantile(v, 0.75), v[v.length - 1]);
        }

        private static double quantile(float[] sorted, double p) {
            double pos = p * (sorted.length - 1);
            int i = (int) Math.floor(pos);
            int j = Math.min(i + 1, sorted.length - 1);
            return sorted[i] + (pos - i) * ((double) sorted[j] - sorted[i]);
        }
    }

    /**
     * One weight layer.
     *
     * @param layer        the layer's output variable
     * @param kind         conv, depthwise or dense
     * @param before       per output channel, the weights with BatchNorm folded and nothing else (empty when
     *                     the layer did not exist then)
     * @param after        per output channel, the weights of the float network that is quantized
     * @param changed      whether the float rewrites changed this layer's weights (equalization, dead channels)
     * @param sqnrBeforeDb SQNR of the recipe's weight scheme, nearest rounding, on {@code before} (NaN if empty)
     * @param sqnrAfterDb  SQNR of the quantized network's weights against {@code after} (NaN when they are not constants there)
     * @param notes        what the rewrite log says about this layer, one line per entry
     */
    public record Layer(String layer, WeightLayer.Kind kind, List<ChannelBox> before, List<ChannelBox> after,
                        boolean changed, double sqnrBeforeDb, double sqnrAfterDb, List<String> notes) {
        public Layer {
            before = List.copyOf(before);
            after = List.copyOf(after);
            notes = List.copyOf(notes);
        }
    }

    /**
     * One fake-quantized activation tensor. Measurements on calibration images are NaN when none were given.
     *
     * @param tensor        the float network's tensor that is quantized (the fake-quant op's input, or the
     *                      clamp after it that the fake-quant absorbed)
     * @param min           lower end of the quantization range (the fake-quant op's)
     * @param max           upper end
     * @param bits          bit width
     * @param source        the range source's name from the log, or "" when the log has no entry for it
     * @param note          how the range was chosen, from the log, or ""
     * @param observedMin   smallest FP32 value on the calibration images
     * @param observedMax   largest FP32 value on the calibration images
     * @param clipped       fraction of FP32 values outside [min, max]
     * @param sqnrDb        FP32 values against the same values fake-quantized with this range alone, dB
     * @param networkSqnrDb the 8-bit network's value of this tensor (after its fake-quant) against FP32, dB
     */
    public record Activation(String tensor, double min, double max, int bits, String source, String note,
                             double observedMin, double observedMax, double clipped, double sqnrDb,
                             double networkSqnrDb) {
    }

    /**
     * The report for a quantized network.
     *
     * @param folded      the network with only BatchNorm folded (and the recipe's extra rules): "before"
     * @param q           what the quantizer made: its float network is "after", its network is quantized
     * @param calibration calibration batches [N,C,H,W] for the activation measurements; empty: not measured
     */
    public static QuantizationReport of(Network folded, QuantizedNetwork q, QuantScheme weights,
                                        List<INDArray> calibration) {
        List<Layer> layers = layers(GraphView.of(folded), GraphView.of(q.floatNetwork()), GraphView.of(q.network()),
                weights, q.log());
        List<Activation> activations = activations(q.floatNetwork(), q.network(), q.log(), calibration);
        int images = calibration.stream().mapToInt(b -> (int) b.size(0)).sum();
        return new QuantizationReport(q.network().name(), q.ranges(), images, layers, activations);
    }

    /**
     * As {@link #of(Network, QuantizedNetwork, QuantScheme, List)}, folding {@code original} with the
     * recipe's BatchNorm folding and extra rules to get "before".
     */
    public static QuantizationReport of(DfqRecipe recipe, Network original, QuantizedNetwork q,
                                        List<INDArray> calibration) {
        Network folded = recipe.toBuilder().replaceRelu6(false).equalize(false).absorb(false).build()
                .floatPipeline().run(original).network();
        return of(folded, q, recipe.weights(), calibration);
    }

    /** The layers the float rewrites changed. */
    public List<Layer> changedLayers() {
        return layers.stream().filter(Layer::changed).toList();
    }

    private static List<Layer> layers(GraphView before, GraphView after, GraphView quantized, QuantScheme scheme,
                                      RewriteLog log) {
        Map<String, WeightLayer> beforeLayers = new LinkedHashMap<>();
        before.weightLayers().forEach(l -> beforeLayers.put(l.output(), l));
        Map<String, WeightLayer> quantizedLayers = new LinkedHashMap<>();
        quantized.weightLayers().forEach(l -> quantizedLayers.put(l.output(), l));
        List<Layer> out = new ArrayList<>();
        for (WeightLayer l : after.weightLayers()) {
            if (!after.isConstant(l.weights())) {
                continue;
            }
            INDArray w = after.constant(l.weights());
            WeightLayer b = beforeLayers.get(l.output());
            INDArray wb = b != null && before.isConstant(b.weights()) ? before.constant(b.weights()) : null;
            WeightLayer ql = quantizedLayers.get(l.output());
            INDArray wq = ql != null && quantized.isConstant(ql.weights()) ? quantized.constant(ql.weights()) : null;
            boolean changed = wb == null || !Arrays.equals(wb.shape(), w.shape()) || !Arrays.equals(floats(wb), floats(w));
            double sqnrBefore = wb == null ? Double.NaN : QuantizedTensor.of(wb, scheme, l.kind()).sqnrDb();
            double sqnrAfter = wq == null || !Arrays.equals(wq.shape(), w.shape()) ? Double.NaN : sqnrDb(w, wq);
            List<String> notes = new ArrayList<>();
            for (RewriteLog.Entry e : log.entries()) {
                if (e.targets().contains(l.output()) || e.targets().contains(l.op())) {
                    notes.add(e.line());
                }
            }
            out.add(new Layer(l.output(), l.kind(), wb == null ? List.of() : boxes(l.kind(), wb),
                    boxes(l.kind(), w), changed, sqnrBefore, sqnrAfter, notes));
        }
        return out;
    }

    /** Per output channel five-number summaries of a weight tensor. */
    public static List<ChannelBox> boxes(WeightLayer.Kind kind, INDArray w) {
        ChannelLayout layout = ChannelLayout.outputChannels(kind, w.shape());
        float[] data = floats(w);
        int channels = layout.channels();
        int per = data.length / channels;
        float[][] values = new float[channels][per];
        int[] filled = new int[channels];
        for (int i = 0; i < data.length; i++) {
            int c = layout.channelOf(i);
            values[c][filled[c]++] = data[i];
        }
        List<ChannelBox> out = new ArrayList<>(channels);
        for (float[] v : values) {
            out.add(ChannelBox.of(v));
        }
        return out;
    }

    private static double sqnrDb(INDArray x, INDArray y) {
        double[] sn = new double[2];
        addSignalAndNoise(x, y, sn);
        return sqnrDb(sn);
    }

    /** Adds sum(x^2) to {@code sn[0]} and sum((x - y)^2) to {@code sn[1]}, in double over x's and y's floats. */
    static void addSignalAndNoise(INDArray x, INDArray y, double[] sn) {
        float[] a = floats(x);
        float[] b = floats(y);
        for (int i = 0; i < a.length; i++) {
            double e = (double) a[i] - b[i];
            sn[0] += (double) a[i] * a[i];
            sn[1] += e * e;
        }
    }

    /** 10 log10(signal / noise) of {@link #addSignalAndNoise} sums; +Infinity for zero noise. */
    static double sqnrDb(double[] sn) {
        return sn[1] == 0 ? Double.POSITIVE_INFINITY : 10 * Math.log10(sn[0] / sn[1]);
    }

    private static float[] floats(INDArray a) {
        INDArray f = a.castTo(DataType.FLOAT);
        boolean plain = f.ordering() == 'c' && !f.isView() && f.data().length() == f.length();
        return (plain ? f : f.dup('c')).data().asFloat();
    }

    /** A fake-quant op of the quantized network: its input, output and quantizer. */
    private record Point(String tensor, String output, double min, double max, int bits, QuantParams params) {
    }

    private static List<Activation> activations(Network floatNet, Network quantized, RewriteLog log,
                                                List<INDArray> calibration) {
        GraphView g = GraphView.of(quantized);
        GraphView f = GraphView.of(floatNet);
        List<Point> points = new ArrayList<>();
        for (String op : g.ops()) {
            if (g.kind(op) != OpKind.FAKE_QUANT) {
                continue;
            }
            List<String> in = g.inputs(op);
            if (in.size() != 3 || !g.isConstant(in.get(1)) || !g.isConstant(in.get(2))) {
                continue;
            }
            double min = g.constant(in.get(1)).getDouble(0);
            double max = g.constant(in.get(2)).getDouble(0);
            OpAttributes.FakeQuantConfig c = g.attributes(op).fakeQuant().orElseThrow();
            QuantParams p = QuantParams.of(QuantScheme.perTensor(c.bits(), c.narrow()), min, max);
            points.add(new Point(reference(f, g, in.get(0)), g.output(op), min, max, c.bits(), p));
        }
        List<Point> measurable = points.stream().filter(p -> f.hasVariable(p.tensor())).toList();
        Map<String, double[]> sums = calibration.isEmpty() ? Map.of() : measure(floatNet, quantized, measurable,
                calibration);
        List<Activation> out = new ArrayList<>();
        for (Point p : points) {
            RewriteLog.Entry e = logEntry(log, p.tensor());
            double[] s = sums.get(p.tensor());
            double nan = Double.NaN;
            out.add(new Activation(p.tensor(), p.min(), p.max(), p.bits(),
                    e == null ? "" : String.valueOf(e.values().getOrDefault("source", "")),
                    e == null ? "" : e.message(),
                    s == null ? nan : s[0], s == null ? nan : s[1], s == null ? nan : s[2] / s[3],
                    s == null ? nan : db(s[4], s[5]), s == null ? nan : db(s[4], s[6])));
        }
        return out;
    }

    /**
     * The float tensor a fake-quant stands for: its input, or, where clamps right before it were folded
     * into it (relu, relu6, a clip by a constant, gone from the quantized network), the last clamp's output.
     */
    private static String reference(GraphView floatGraph, GraphView quantized, String input) {
        String t = input;
        if (!floatGraph.hasVariable(t)) {
            return t;
        }
        for (String c = floatGraph.soleConsumer(t); c != null && !quantized.hasOp(c)
                && floatGraph.is(c, OpKind.RELU, OpKind.RELU6, OpKind.MINIMUM, OpKind.MAXIMUM); c = floatGraph.soleConsumer(t)) {
            t = floatGraph.output(c);
        }
        return t;
    }

    /** The log entry that set a tensor's range: one naming only the tensor, with a min and a max. */
    private static RewriteLog.Entry logEntry(RewriteLog log, String tensor) {
        RewriteLog.Entry found = null;
        for (RewriteLog.Entry e : log.entries()) {
            if (e.targets().equals(List.of(tensor)) && e.values().containsKey("min") && e.values().containsKey("max")) {
                found = e;
            }
        }
        return found;
    }

    /**
     * Per tensor over all calibration images: {observed min, observed max, values clipped, values,
     * sum x^2, sum (x - fq(x))^2, sum (x - y)^2} with y the quantized network's value after the fake-quant.
     */
    private static Map<String, double[]> measure(Network floatNet, Network quantized, List<Point> points,
                                                 List<INDArray> calibration) {
        Map<String, double[]> sums = new LinkedHashMap<>();
        List<String> tensors = points.stream().map(Point::tensor).toList();
        List<String> outputs = points.stream().map(Point::output).toList();
        for (Point p : points) {
            sums.put(p.tensor(), new double[] {Double.POSITIVE_INFINITY, Double.NEGATIVE_INFINITY, 0, 0, 0, 0, 0});
        }
        for (INDArray batch : calibration) {
            Map<String, INDArray> fp = floatNet.run(batch, tensors);
            Map<String, INDArray> q = quantized.run(batch, outputs);
            for (Point p : points) {
                float[] x = floats(fp.get(p.tensor()));
                float[] y = floats(q.get(p.output()));
                double[] s = sums.get(p.tensor());
                QuantParams qp = p.params();
                for (int i = 0; i < x.length; i++) {
                    double v = x[i];
                    s[0] = Math.min(s[0], v);
                    s[1] = Math.max(s[1], v);
                    if (v < p.min() || v > p.max()) {
                        s[2]++;
                    }
                    double e = v - qp.fakeQuantize(v);
                    double d = v - y[i];
                    s[4] += v * v;
                    s[5] += e * e;
                    s[6] += d * d;
                }
                s[3] += x.length;
            }
        }
        return sums;
    }

    private static double db(double signal, double noise) {
        return noise == 0 ? Double.POSITIVE_INFINITY : 10 * Math.log10(signal / noise);
    }
}
