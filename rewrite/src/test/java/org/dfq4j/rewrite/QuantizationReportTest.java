package org.dfq4j.rewrite;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.Arrays;
import java.util.List;
import java.util.Map;
import org.dfq4j.rewrite.QuantizationReport.Activation;
import org.dfq4j.rewrite.QuantizationReport.ChannelBox;
import org.dfq4j.rewrite.QuantizationReport.Layer;
import org.dfq4j.rewrite.engine.RewriteLog;
import org.dfq4j.rewrite.graph.Network;
import org.dfq4j.rewrite.graph.OpKind;
import org.dfq4j.rewrite.graph.Padding;
import org.dfq4j.rewrite.graph.WeightLayer;
import org.dfq4j.rewrite.quant.RangeSpec;
import org.dfq4j.rewrite.testing.SyntheticNets;
import org.dfq4j.rewrite.view.GraphView;
import org.junit.jupiter.api.Test;
import org.nd4j.autodiff.samediff.SDVariable;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;

/**
 * The report states what the networks hold: per-channel weights of the float networks before and
 * after equalization, SQNRs recomputed from the weights, the fake-quant ops' ranges, and activation
 * measurements that agree with calibration min/max ranges and with the network's output SQNR.
 */
class QuantizationReportTest {

    private record Net(Network net, INDArray calibration) {
    }

    /** input -> conv -> BN -> relu6 -> depthwise -> BN -> relu6 -> conv -> BN -> add(conv2, conv3) -> gap -> fc. */
    private static Net residual(long seed) {
        SyntheticNets s = new SyntheticNets("report", seed, 3, 10);
        var b = s.builder();
        SDVariable r1 = b.relu6("r1", s.calibratedBatchNorm("bn1", s.conv("c1", s.input(), 3, 3, 8, 1, Padding.SAME)));
        SDVariable r2 = b.relu6("r2", s.calibratedBatchNorm("bn2", s.depthwise("d1", r1, 3, 8, 1, 1, Padding.SAME)));
        SDVariable c2 = s.calibratedBatchNorm("bn3", s.conv("c2", r2, 1, 8, 6, 1, Padding.SAME));
        SDVariable c3 = s.conv("c3", s.input(), 1, 3, 6, 1, Padding.SAME);
        SDVariable sum = b.add("sum", c2, c3);
        s.dense("fc", b.globalAvgPool("gap", sum, false), 6, 4);
        return new Net(b.build("fc"), s.calibration());
    }

    // min/max ranges, so that the report's observed ranges can be checked against the quantizers' exactly
    private static final DfqRecipe RECIPE = DfqRecipe.builder().equalize(true).activationRanges(RangeSpec.calibrationMinMax())
            .calibrationImages(6).build();

    private record Run(Net net, QuantizedNetwork q, QuantizationReport report, List<INDArray> calibration) {
    }

    private static Run run(long seed) {
        Net n = residual(seed);
        Calibration c = Calibration.of(List.of(n.calibration()), "seeded images");
        Quantizer quantizer = Quantizer.builder(RECIPE).calibration(c).build();
        QuantizedNetwork q = quantizer.quantize(n.net());
        List<INDArray> images = quantizer.calibrationImages(n.net().inputShape());
        return new Run(n, q, QuantizationReport.of(RECIPE, n.net(), q, images), images);
    }

    @Test
    void channelBoxesAreTheFloatNetworksWeightsBeforeAndAfterEqualization() {
        Run r = run(11);
        Network folded = DfqRecipe.builder().build().floatPipeline().run(r.net().net()).network();
        GraphView before = GraphView.of(folded);
        GraphView after = GraphView.of(r.q().floatNetwork());
        List<WeightLayer> layers = after.weightLayers();
        assertEquals(layers.stream().map(WeightLayer::output).toList(),
                r.report().layers().stream().map(Layer::layer).toList(), "one entry per weight layer, in order");
        int changed = 0;
        for (int i = 0; i < layers.size(); i++) {
            WeightLayer l = layers.get(i);
            Layer rep = r.report().layers().get(i);
            INDArray wAfter = after.constant(l.weights());
            INDArray wBefore = before.constant(before.weightLayers().stream().filter(w -> w.output().equals(l.output()))
                    .findFirst().orElseThrow().weights());
            assertBoxesAre(wAfter, l.kind(), rep.after());
            assertBoxesAre(wBefore, l.kind(), rep.before());
            boolean differs = !Arrays.equals(floats(wBefore), floats(wAfter));
            assertEquals(differs, rep.changed(), rep.layer());
            changed += differs ? 1 : 0;
        }
        assertTrue(changed >= 3, "equalization changed c1, d1 and c2: " + changed);
        assertFalse(r.report().layers().stream().filter(l -> l.layer().equals("c3")).findFirst().orElseThrow().changed(),
                "c3 writes into the add, so it is not equalized");
        assertEquals(changed, r.report().changedLayers().size());
    }

    /** min and max per output channel, computed by ND4J reductions over all axes but the output channels. */
    private static void assertBoxesAre(INDArray w, WeightLayer.Kind kind, List<ChannelBox> boxes) {
        INDArray flat = kind == WeightLayer.Kind.DEPTHWISE ? w.reshape(-1, w.size(2) * w.size(3))
                : w.reshape(-1, w.size(w.rank() - 1));
        double[] min = flat.min(0).toDoubleVector();
        double[] max = flat.max(0).toDoubleVector();
        assertEquals(min.length, boxes.size(), "one box per output channel");
        for (int c = 0; c < min.length; c++) {
            ChannelBox b = boxes.get(c);
            assertEquals(min[c], b.min(), 0, "min of channel " + c);
            assertEquals(max[c], b.max(), 0, "max of channel " + c);
            double[] v = flat.getColumn(c).toDoubleVector();
            Arrays.sort(v);
            double median = v.length % 2 == 1 ? v[v.length / 2] : 0.5 * (v[v.length / 2 - 1] + v[v.length / 2]);
            assertEquals(median, b.median(), 1e-6 * (Math.abs(median) + 1e-6), "median of channel " + c);
            assertTrue(b.min() <= b.q1() && b.q1() <= b.median() && b.median() <= b.q3() && b.q3() <= b.max(), b.toString());
        }
    }

    @Test
    void weightSqnrIsTheQuantizedWeightsAgainstTheFloatOnesAsQuantizeWeightsLoggedIt() {
        Run r = run(12);
        Map<String, Double> logged = new java.util.HashMap<>();
        for (RewriteLog.Entry e : r.q().log().entries("QuantizeWeights")) {
            if (e.targets().size() == 1) {
                logged.put(e.targets().get(0), e.number("sqnrDb"));
            }
        }
        GraphView f = GraphView.of(r.q().floatNetwork());
        GraphView q = GraphView.of(r.q().network());
        for (Layer l : r.report().layers()) {
            assertEquals(logged.get(l.layer()), l.sqnrAfterDb(), 1e-9, l.layer());
            WeightLayer fl = f.weightLayers().stream().filter(w -> w.output().equals(l.layer())).findFirst().orElseThrow();
            INDArray w = f.constant(fl.weights());
            INDArray e = w.sub(q.constant(fl.weights()));
            double sqnr = 10 * Math.log10(w.mul(w).sumNumber().doubleValue() / e.mul(e).sumNumber().doubleValue());
            assertEquals(sqnr, l.sqnrAfterDb(), 1e-3, l.layer());
            assertTrue(Double.isFinite(l.sqnrBeforeDb()), l.layer());
        }
    }

    @Test
    void activationsAreTheFakeQuantRangesMeasuredOnTheCalibrationImages() {
        Run r = run(13);
        GraphView q = GraphView.of(r.q().network());
        List<String> fakeQuants = q.ops().stream().filter(op -> q.kind(op) == OpKind.FAKE_QUANT).toList();
        List<Activation> acts = r.report().activations();
        assertEquals(fakeQuants.size(), acts.size(), "one entry per fake-quant op");
        assertEquals(6, r.report().calibrationImages());
        for (int i = 0; i < acts.size(); i++) {
            Activation a = acts.get(i);
            List<String> in = q.inputs(fakeQuants.get(i));
            assertEquals(q.constant(in.get(1)).getDouble(0), a.min(), 0, a.tensor());
            assertEquals(q.constant(in.get(2)).getDouble(0), a.max(), 0, a.tensor());
            assertEquals("calib-minmax:6", a.source(), a.tensor());
            assertTrue(a.note().contains("min/max over 6 calibration images"), a.note());
            // calib ranges are min/max over these images of the network with quantized weights, the observed
            // ones of the FP32 network: nearly the same, and a value is clipped exactly when it lies outside
            boolean inside = a.observedMin() >= a.min() && a.observedMax() <= a.max();
            assertEquals(inside, a.clipped() == 0, a.toString());
            assertEquals(Math.max(0, a.observedMax()), a.max(), 0.05 * (1 + Math.abs(a.max())), a.tensor());
            assertTrue(a.sqnrDb() > 20 && Double.isFinite(a.networkSqnrDb()), a.toString());
        }
        // the input has no error before it: alone and in the network are the same quantization
        Activation input = acts.get(0);
        assertEquals(r.net().net().input(), input.tensor());
        assertEquals(input.sqnrDb(), input.networkSqnrDb(), 1e-3);
        assertEquals(0, input.clipped(), "the input's range is measured on these images, before any weight");
        assertEquals(Math.min(0, input.observedMin()), input.min(), 1e-6);
        assertEquals(Math.max(0, input.observedMax()), input.max(), 1e-6);
        // the last point is the network output: its network SQNR is the logit SQNR against FP32
        Activation last = acts.get(acts.size() - 1);
        assertEquals("fc", last.tensor());
        INDArray fp32 = r.q().floatNetwork().output(r.calibration().get(0));
        INDArray err = fp32.sub(r.q().network().output(r.calibration().get(0)));
        double logitSqnr = 10 * Math.log10(fp32.mul(fp32).sumNumber().doubleValue() / err.mul(err).sumNumber().doubleValue());
        assertEquals(logitSqnr, last.networkSqnrDb(), 1e-3);
    }

    @Test
    void withoutCalibrationImagesActivationsAreNotMeasured() {
        Run r = run(14);
        QuantizationReport unmeasured = QuantizationReport.of(RECIPE, r.net().net(), r.q(), List.of());
        assertEquals(0, unmeasured.calibrationImages());
        for (int i = 0; i < unmeasured.activations().size(); i++) {
            Activation a = unmeasured.activations().get(i);
            assertTrue(Double.isNaN(a.sqnrDb()) && Double.isNaN(a.networkSqnrDb()) && Double.isNaN(a.clipped()), a.toString());
            assertEquals(r.report().activations().get(i).min(), a.min());
        }
        assertEquals(r.report().layers(), unmeasured.layers());
    }

    private static float[] floats(INDArray a) {
        return a.castTo(DataType.FLOAT).dup('c').data().asFloat();
    }
}
