package org.dfq4j.zoo.onnx;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import onnx.Onnx.ModelProto;
import onnx.Onnx.NodeProto;
import onnx.Onnx.TensorProto;
import org.dfq4j.rewrite.DfqException;
import org.dfq4j.rewrite.Calibration;
import org.dfq4j.rewrite.DfqRecipe;
import org.dfq4j.rewrite.Quantizer;
import org.dfq4j.rewrite.graph.Network;
import org.dfq4j.rewrite.graph.NetworkBuilder;
import org.dfq4j.rewrite.graph.OpKind;
import org.dfq4j.rewrite.graph.Padding;
import org.dfq4j.rewrite.quant.ActivationQuantizer;
import org.dfq4j.rewrite.quant.LowerFakeQuant;
import org.dfq4j.rewrite.quant.QuantScheme;
import org.dfq4j.rewrite.quant.QuantizedTensor;
import org.dfq4j.rewrite.quant.RangeSpec;
import org.dfq4j.rewrite.quant.Rounding;
import org.dfq4j.rewrite.engine.Rewritten;
import org.dfq4j.rewrite.graph.WeightLayer;
import org.dfq4j.rewrite.view.GraphView;
import org.dfq4j.zoo.mobilenet.SyntheticImages;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.nd4j.autodiff.samediff.SDVariable;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;
import org.nd4j.linalg.ops.transforms.Transforms;

/**
 * A block with every op the exporter writes (strided SAME conv, depthwise, ReLU6, a per-channel
 * clip, an asymmetric zero pad folded into a conv, residual add, LeakyReLU, concat, SAME average
 * pooling, max pooling, global pooling, reshape, dense, softmax, and the bilinear resize's
 * matmuls and transposes) is exported, run in ONNX Runtime and read back; float and QDQ.
 */
class OnnxExporterTest {

    @TempDir
    Path dir;

    private static final INDArray IMAGES = SyntheticImages.generate(4, 3, 17, 15, 5);

    static Network block(long seed) {
        Nd4j.getRandom().setSeed(seed);
        NetworkBuilder b = new NetworkBuilder("block", 3, 17, 15);
        SDVariable c1 = b.conv2d("c1", b.input(), he(3, 3, 3, 8), small(8), 2, 2, Padding.SAME, 1, 1);
        SDVariable r1 = b.relu6("r1", c1);
        SDVariable d1 = b.depthwiseConv2d("d1", r1, he(3, 3, 8, 1), small(8), 1, 1, Padding.SAME, 1, 1);
        SDVariable d1r = b.relu("d1r", d1);
        INDArray clip = Nd4j.createFromArray(0.5f, 1f, 1.5f, 2f, 2.5f, 3f, 3.5f, 4f).reshape(1, 8, 1, 1);
        SDVariable d1c = b.minimum("d1c", d1r, b.constant("d1c/clip", clip));
        SDVariable c2 = b.conv2d("c2", d1c, he(1, 1, 8, 8), small(8), 1, 1, Padding.VALID, 1, 1);
        SDVariable c3 = b.conv2d("c3", r1, he(3, 3, 8, 8), small(8), 1, 1, Padding.explicit(0, 2, 1, 1), 1, 1);
        SDVariable a1 = b.add("a1", c2, c3);
        SDVariable l4 = b.leakyRelu("l4", b.conv2d("c4", a1, he(1, 1, 8, 6), small(6), 1, 1, Padding.VALID, 1, 1), 0.1);
        SDVariable cat = b.concat("cat", 1, l4, a1);
        SDVariable ap = b.avgPool("ap", cat, 3, 3, 1, 1, Padding.SAME);
        SDVariable mp = b.maxPool("mp", ap, 2, 2, 2, 2, Padding.VALID);
        SDVariable flat = b.reshape("flat", b.globalAvgPool("gap", mp, true), -1, 14);
        b.softmax("prob", b.dense("fc", flat, he(14, 5), small(5)));
        b.sigmoid("sig", b.resizeBilinear("up", mp, 14, 4, 4, 7, 9, false, true));
        return b.build("prob", "sig");
    }

    private static INDArray he(long... shape) {
        long fanIn = shape.length == 4 ? shape[0] * shape[1] * (shape[3] == 1 ? 1 : shape[2]) : shape[0];
        return Nd4j.randn(DataType.FLOAT, shape).muli(1.5 / Math.sqrt(fanIn));
    }

    private static INDArray small(long n) {
        return Nd4j.randn(DataType.FLOAT, n).muli(0.1);
    }

    /** The block after equalization (ReLU6 kept as per-channel clips) and W8A8 simulation with calibrated ranges. */
    static Network quantized(Network net, QuantScheme weights) {
        DfqRecipe r = DfqRecipe.builder().equalize(true).weights(weights).activationRanges(RangeSpec.calibration())
                .calibrationImages(4).build();
        Calibration calib = Calibration.of(List.of(SyntheticImages.generate(4, 3, 17, 15, 9)), "generated images");
        return Quantizer.builder(r).calibration(calib).inputRange(-1, 1).build().quantize(net).network();
    }

    private static double relativeDifference(INDArray a, INDArray b) {
        return Transforms.abs(a.sub(b)).maxNumber().doubleValue() / Transforms.abs(a).maxNumber().doubleValue();
    }

    @Test
    void aFloatExportComputesInOnnxRuntimeWhatDfq4jComputes() throws Exception {
        for (Network net : List.of(block(1), DfqRecipe.builder().equalize(true).build()
                .floatPipeline().run(block(1)).network())) {
            OnnxExporter.Export e = OnnxExporter.export(net);
            assertFalse(e.quantized());
            assertEquals(0, e.activationQuantizers());
            Map<String, INDArray> ort = OrtSessions.run(e.bytes(), net.input(), IMAGES, false);
            Map<String, INDArray> nd4j = net.run(IMAGES);
            for (String o : net.outputs()) {
                assertArrayEquals(nd4j.get(o).shape(), ort.get(o).shape(), o);
                assertTrue(relativeDifference(nd4j.get(o), ort.get(o)) < 1e-5, o + ": " + relativeDifference(nd4j.get(o), ort.get(o)));
            }
            // the asymmetric pad went into the convolution that reads it; the matmul resize is one Resize
            assertFalse(e.nodes().containsKey("Pad") || e.nodes().containsKey("MatMul"), e.nodes().toString());
            assertEquals(1, e.nodes().get("Resize"));
        }
    }

    @Test
    void aFloatExportReadsBackIntoTheSameNetwork() throws Exception {
        Network net = block(2);
        Path file = Files.write(dir.resolve("block.onnx"), OnnxExporter.export(net).bytes());
        assertSameOutputs(net, OnnxReader.read(file), 1e-5);
    }

    /** The outputs of two networks, in order, agree to a relative {@code tolerance} on the test images. */
    private static void assertSameOutputs(Network net, Network back, double tolerance) {
        Map<String, INDArray> a = net.run(IMAGES);
        Map<String, INDArray> b = back.run(IMAGES);
        for (int i = 0; i < net.outputs().size(); i++) {
            double rel = relativeDifference(a.get(net.outputs().get(i)), b.get(back.outputs().get(i)));
            assertTrue(rel < tolerance, "output " + i + ": " + rel);
        }
    }

    @Test
    void qdqExportHoldsInt8WeightsInt32BiasesAndTheSimulatedQuantizers() throws Exception {
        Network q = quantized(block(3), QuantScheme.perTensor(8, false));
        OnnxExporter.Export e = OnnxExporter.export(q);
        ModelProto m = e.model();
        GraphView g = GraphView.of(q);
        long fakeQuants = g.ops().stream().filter(op -> g.kind(op) == OpKind.FAKE_QUANT).count();
        assertEquals(6, e.int8Weights());
        assertEquals(0, e.floatWeights());
        // one pair per fake-quant, and one more before each per-channel clip it follows
        assertEquals(fakeQuants + e.nodes().getOrDefault("Min", 0), e.activationQuantizers());
        assertTrue(e.nodes().getOrDefault("Min", 0) > 0, e.nodes().toString());
        assertTrue(e.int32Biases() >= 4, e.describe());
        Map<String, TensorProto> init = new java.util.HashMap<>();
        m.getGraph().getInitializerList().forEach(t -> init.put(t.getName(), t));
        int int8 = 0;
        for (TensorProto t : init.values()) {
            int8 += t.getDataType() == TensorProto.DataType.INT8_VALUE && t.getDimsCount() > 0 ? 1 : 0;
        }
        assertEquals(6, int8, "int8 weight initializers");
        // every activation quantizer carries exactly the scale and zero point of its fake-quant
        for (String op : g.ops()) {
            if (g.kind(op) != OpKind.FAKE_QUANT) {
                continue;
            }
            ActivationQuantizer a = ActivationQuantizer.of(g, op);
            NodeProto dq = producer(m, g.output(op));
            assertEquals("DequantizeLinear", dq.getOpType());
            assertEquals(a.scale(), scalarFloat(init.get(dq.getInput(1))), 0f, op);
            assertEquals(a.zeroPoint(), init.get(dq.getInput(2)).getRawData().byteAt(0) & 0xFF, op);
        }
        // an int32 bias dequantizes with scale s_in * s_w, the product of its conv's input and weight scales
        int checked = 0;
        for (NodeProto conv : m.getGraph().getNodeList()) {
            if (!conv.getOpType().equals("Conv")) {
                continue;
            }
            NodeProto bias = producer(m, conv.getInput(2));
            if (bias.getOpType().equals("DequantizeLinear")
                    && init.get(bias.getInput(0)).getDataType() == TensorProto.DataType.INT32_VALUE) {
                float sx = scalarFloat(init.get(producer(m, conv.getInput(0)).getInput(1)));
                float sw = scalarFloat(init.get(producer(m, conv.getInput(1)).getInput(1)));
                assertEquals(sx * sw, scalarFloat(init.get(bias.getInput(1))), 0f, conv.getName());
                checked++;
            }
        }
        assertEquals(e.int32Biases(), checked);
    }

    @Test
    void perChannelSymmetricWeightsAreWrittenPerAxisWithZeroPointZero() {
        Network q = quantized(block(4), QuantScheme.perChannel(8, true));
        ModelProto m = OnnxExporter.export(q).model();
        Map<String, TensorProto> init = new java.util.HashMap<>();
        m.getGraph().getInitializerList().forEach(t -> init.put(t.getName(), t));
        int perAxis = 0;
        for (NodeProto n : m.getGraph().getNodeList()) {
            TensorProto levels = init.get(n.getInput(0));
            if (n.getOpType().equals("DequantizeLinear") && levels != null
                    && levels.getDataType() == TensorProto.DataType.INT8_VALUE && levels.getDimsCount() > 0) {
                perAxis++;
                assertTrue(n.getAttributeList().stream().anyMatch(a -> a.getName().equals("axis")), n.getName());
                TensorProto zero = init.get(n.getInput(2));
                for (byte z : zero.getRawData().toByteArray()) {
                    assertEquals(0, z, n.getName());
                }
                assertTrue(init.get(n.getInput(1)).getDimsCount() == 1);
            }
        }
        assertEquals(6, perAxis);
    }

    @Test
    void dfq4jReadsItsQdqExportBackAsTheSameSimulation() throws Exception {
        Network q = quantized(block(5), QuantScheme.perTensor(8, false));
        Path file = Files.write(dir.resolve("q.onnx"), OnnxExporter.export(q).bytes());
        Network back = OnnxReader.read(file);
        GraphView g = GraphView.of(back);
        assertTrue(g.ops().stream().anyMatch(op -> g.kind(op) == OpKind.FAKE_QUANT));
        assertSameOutputs(q, back, 1e-6);
    }

    /**
     * Data-free rounding moves weights to a level other than their nearest, and MSE clipping picks
     * activation ranges inside min/max: the file must hold exactly those levels and scales, so that
     * dfq4j's reader gets the simulated network back weight for weight, not a re-rounded one.
     */
    @Test
    void dataFreeRoundedLevelsAndMseRangesExportAsSimulated() throws Exception {
        QuantScheme scheme = QuantScheme.perChannel(4, false);
        DfqRecipe r = DfqRecipe.builder().equalize(true).weights(scheme).rounding(Rounding.DATAFREE)
                .activationRanges(RangeSpec.calibration()).calibrationImages(4).build();
        Calibration calib = Calibration.of(List.of(SyntheticImages.generate(4, 3, 17, 15, 9)), "generated images");
        Quantizer quantizer = Quantizer.builder(r).calibration(calib).inputRange(-1, 1).build();
        Rewritten prepared = quantizer.floatPipeline(block(7));
        Network q = quantizer.quantize(prepared).network();
        Path file = Files.write(dir.resolve("datafree.onnx"), OnnxExporter.export(q).bytes());
        Network back = OnnxReader.read(file);
        GraphView gq = GraphView.of(q);
        GraphView gb = GraphView.of(back);
        GraphView gp = GraphView.of(prepared.network());
        List<WeightLayer> layers = gq.weightLayers();
        List<WeightLayer> read = gb.weightLayers(); // the reader names ops after the file's nodes: match by order
        assertEquals(6, layers.size());
        assertEquals(layers.stream().map(WeightLayer::kind).toList(), read.stream().map(WeightLayer::kind).toList());
        long moved = 0;
        for (int i = 0; i < layers.size(); i++) {
            WeightLayer l = layers.get(i);
            WeightLayer b = read.get(i);
            INDArray simulated = gq.constant(l.weights()).castTo(DataType.FLOAT);
            INDArray restored = gb.constant(b.weights()).castTo(DataType.FLOAT);
            assertArrayEquals(simulated.shape(), restored.shape(), l.op() + " / " + b.op());
            // the same float32 values: the same integer levels times the same float32 scales
            assertArrayEquals(simulated.dup('c').data().asFloat(), restored.dup('c').data().asFloat(), 0f, l.op());
            INDArray nearest = QuantizedTensor.of(gp.constant(l.weights()), scheme, l.kind(), Rounding.NEAREST).values()
                    .castTo(DataType.FLOAT);
            moved += simulated.neq(nearest).castTo(DataType.INT).sumNumber().longValue();
        }
        assertTrue(moved > 0, "data-free rounding moved no weight off its nearest level: the test would not see re-rounding");
        // the activation quantizers (MSE-chosen ranges) come back with the same scales and zero points (the file
        // repeats a quantizer before a per-channel clip, so the reader finds one more of the same)
        assertEquals(new java.util.HashSet<>(fakeQuantizers(gq)), new java.util.HashSet<>(fakeQuantizers(gb)));
        assertFalse(fakeQuantizers(gq).isEmpty());
        assertSameOutputs(q, back, 1e-6);
    }

    private static List<ActivationQuantizer> fakeQuantizers(GraphView g) {
        return g.ops().stream().filter(op -> g.kind(op) == OpKind.FAKE_QUANT).map(op -> ActivationQuantizer.of(g, op))
                .toList();
    }

    @Test
    void onnxRuntimeFindsTheSimulatedLevelsAndRunsIntegerKernels() throws Exception {
        Network q = quantized(block(6), QuantScheme.perTensor(8, false));
        // every fake-quantized tensor becomes an output too, so the levels can be compared one by one
        GraphView g = GraphView.of(q);
        List<String> outs = new ArrayList<>(q.outputs());
        List<ActivationQuantizer> quantizers = new ArrayList<>();
        for (String op : g.ops()) {
            if (g.kind(op) == OpKind.FAKE_QUANT && !outs.contains(g.output(op))) {
                outs.add(g.output(op));
                quantizers.add(ActivationQuantizer.of(g, op));
            }
        }
        Network wide = Network.adopt("wide", q.sameDiff(), q.input(), q.inputShape(), outs)
                .withAttachments(q.attachments());
        byte[] bytes = OnnxExporter.export(wide).bytes();
        Map<String, INDArray> nd4j = wide.run(IMAGES);
        Map<String, INDArray> ort = OrtSessions.run(bytes, q.input(), IMAGES, true);
        long elements = 0;
        long flipped = 0;
        for (int k = 0; k < quantizers.size(); k++) {
            String t = outs.get(q.outputs().size() + k);
            INDArray levels = Transforms.abs(nd4j.get(t).sub(ort.get(t))).divi(quantizers.get(k).scale());
            assertTrue(levels.maxNumber().doubleValue() < 1.5, t + " differs by " + levels.maxNumber() + " levels");
            elements += levels.length();
            flipped += levels.gt(0.5).castTo(DataType.INT).sumNumber().longValue();
        }
        assertTrue(flipped <= elements / 1000, flipped + " of " + elements + " levels differ");

        Map<String, Integer> kernels = OrtSessions.kernels(OnnxExporter.export(q).bytes(), false, dir);
        assertTrue(kernels.getOrDefault("com.microsoft.QLinearConv", 0) >= 4, kernels.toString());
        Map<String, INDArray> int8 = OrtSessions.run(OnnxExporter.export(q).bytes(), q.input(), IMAGES, false);
        INDArray p = q.run(IMAGES).get("prob");
        assertTrue(relativeDifference(p, int8.get("prob")) < 0.05, "int8 kernels: " + relativeDifference(p, int8.get("prob")));
    }

    @Test
    void propertiesAndAttachmentsTravelInTheMetadata() throws Exception {
        Network net = block(7).withProperties(Map.of("postprocess.num_classes", "90"))
                .withAttachments(Map.of("postprocess.anchors", Nd4j.rand(DataType.FLOAT, 6, 4)));
        Path file = Files.write(dir.resolve("meta.onnx"), OnnxExporter.export(net).bytes());
        Network back = OnnxReader.read(file);
        assertEquals("90", back.properties().get("postprocess.num_classes"));
        assertEquals(net.attachments().get("postprocess.anchors"), back.attachments().get("postprocess.anchors"));
        assertEquals("onnx", back.properties().get("format"));
    }

    @Test
    void whatOnnxCannotExpressIsRefusedNamingTheOp() {
        NetworkBuilder b = new NetworkBuilder("odd", 3, 8, 8);
        SDVariable c = b.conv2d("c", b.input(), he(3, 3, 3, 4), small(4), 1, 1, Padding.SAME, 1, 1);
        b.sameDiff().math().cos("wave", c);
        Network net = b.build("wave");
        DfqException e = assertThrows(DfqException.class, () -> OnnxExporter.export(net));
        assertTrue(e.getMessage().contains("cannot export op") && e.getMessage().contains("cos"), e.getMessage());
        assertFalse(e.getMessage().contains("\n"));

        Network lowered = LowerFakeQuant.of(quantized(block(8), QuantScheme.perTensor(8, false))).network();
        DfqException l = assertThrows(DfqException.class, () -> OnnxExporter.export(lowered));
        assertTrue(l.getMessage().contains("before LowerFakeQuant"), l.getMessage());
    }

    @Test
    void weightsWiderThan8BitsAreRefused() {
        Network q = quantized(block(9), QuantScheme.perTensor(10, false));
        DfqException e = assertThrows(DfqException.class, () -> OnnxExporter.export(q));
        assertTrue(e.getMessage().contains("8 bits or fewer") && e.getMessage().contains("conv2d"), e.getMessage());
    }

    private static NodeProto producer(ModelProto m, String tensor) {
        return m.getGraph().getNodeList().stream().filter(n -> n.getOutputList().contains(tensor)).findFirst()
                .orElseThrow(() -> new AssertionError("nothing produces " + tensor));
    }

    private static float scalarFloat(TensorProto t) {
        return t.getRawData().asReadOnlyByteBuffer().order(java.nio.ByteOrder.LITTLE_ENDIAN).getFloat(0);
    }
}
