package org.dfq4j.zoo.onnx;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import org.dfq4j.rewrite.DfqException;
import org.dfq4j.rewrite.graph.Network;
import org.dfq4j.rewrite.graph.OpKind;
import org.dfq4j.rewrite.view.GraphView;
import org.dfq4j.zoo.mobilenet.SyntheticImages;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;
import org.nd4j.linalg.ops.transforms.Transforms;

/**
 * QDQ models laid out as ONNX Runtime's static quantizer writes them (QuantizeLinear/DequantizeLinear
 * around every quantized tensor, int8 symmetric per-channel conv weights on axis 0, int32 biases at
 * scale s_x * s_w, uint8 or int8 activations, a per-tensor int8 Gemm weight with a zero point), built
 * here with the protobuf builders so that each case is explicit; {@link OnnxReaderOrtQuantizerTest}
 * reads files the quantizer itself wrote. dfq4j's reader must compute what ONNX Runtime computes with
 * QDQ fusion disabled.
 */
class OnnxReaderQdqTest {

    @TempDir
    Path dir;

    /**
     * x -> Q/DQ -> Conv(DQ(W int8 per channel), DQ(b int32)) -> Q/DQ -> Relu -> Q/DQ -> GlobalAveragePool
     * -> Flatten -> Gemm(DQ(W int8 per tensor), bias float) -> output.
     */
    private Path model(boolean signedActivations) throws Exception {
        OnnxModelWriter m = new OnnxModelWriter(13).input("x", -1, 3, 8, 8);
        Nd4j.getRandom().setSeed(11);
        float sx = 2f / 255;
        String x = qdq(m, "x", sx, signedActivations ? -1 : 127, signedActivations);
        INDArray w = Nd4j.randn(DataType.FLOAT, 4, 3, 3, 3).muli(0.3);
        float[] sw = new float[4];
        int[] levels = new int[4 * 27];
        for (int o = 0; o < 4; o++) {
            sw[o] = w.get(org.nd4j.linalg.indexing.NDArrayIndex.point(o)).amaxNumber().floatValue() / 127;
            for (int k = 0; k < 27; k++) {
                levels[o * 27 + k] = Math.round(w.getFloat(o * 27L + k) / sw[o]);
            }
        }
        String wq = m.initializer(OnnxProtos.bytes("w_q", true, levels, 4, 3, 3, 3));
        String ws = m.initializer(OnnxProtos.floats("w_s", sw, 4));
        String wz = m.initializer(OnnxProtos.bytes("w_z", true, new int[4], 4));
        String wd = m.node("DequantizeLinear", "w_dq", List.of(wq, ws, wz), OnnxModelWriter.integer("axis", 0));
        float[] bs = new float[4];
        int[] bq = {120, -340, 5, 0};
        for (int o = 0; o < 4; o++) {
            bs[o] = sx * sw[o];
        }
        String bd = m.node("DequantizeLinear", "b_dq", List.of(m.initializer(OnnxProtos.int32s("b_q", bq, 4)),
                m.initializer(OnnxProtos.floats("b_s", bs, 4)), m.initializer(OnnxProtos.int32s("b_z", new int[4], 4))),
                OnnxModelWriter.integer("axis", 0));
        String c = m.node("Conv", "conv", List.of(x, wd, bd), OnnxModelWriter.ints("pads", 1, 1, 1, 1));
        String cq = qdq(m, c, 0.05f, signedActivations ? -20 : 100, signedActivations);
        String r = qdq(m, m.node("Relu", "relu", List.of(cq)), 0.03f, signedActivations ? -128 : 0, signedActivations);
        String f = m.node("Flatten", "flat", List.of(m.node("GlobalAveragePool", "gap", List.of(r))));
        int[] gl = new int[3 * 4];
        for (int i = 0; i < gl.length; i++) {
            gl[i] = (i * 37) % 200 - 100;
        }
        String gw = m.node("DequantizeLinear", "g_dq", List.of(m.initializer(OnnxProtos.bytes("g_q", true, gl, 4, 3)),
                m.initializer(OnnxProtos.floats("g_s", new float[] {0.01f})),
                m.initializer(OnnxProtos.bytes("g_z", true, new int[] {3}))));
        m.output(m.node("Gemm", "fc", List.of(f, gw, m.floats("g_b", Nd4j.createFromArray(0.1f, -0.2f, 0.3f)))));
        return m.write(dir.resolve("qdq.onnx"));
    }

    /** QuantizeLinear then DequantizeLinear of a tensor with one scale and zero point. */
    private static String qdq(OnnxModelWriter m, String t, float scale, int zero, boolean signed) {
        String s = m.initializer(OnnxProtos.floats(t + "_s", new float[] {scale}));
        String z = m.initializer(OnnxProtos.bytes(t + "_z", signed, new int[] {zero}));
        return m.node("DequantizeLinear", t + "_dq", List.of(m.node("QuantizeLinear", t + "_q", List.of(t, s, z)), s, z));
    }

    @ParameterizedTest(name = "signed activations {0}")
    @ValueSource(booleans = {false, true})
    void readsAQdqModelAsFakeQuantsAndDequantizedWeights(boolean signed) throws Exception {
        Path file = model(signed);
        Network net = OnnxReader.read(file);
        GraphView g = GraphView.of(net);
        // two fake-quants; the input pair is computed as QuantizeLinear does (rint, ties to even)
        assertEquals(2, g.ops().stream().filter(op -> g.kind(op) == OpKind.FAKE_QUANT).count());
        assertTrue(g.ops().stream().anyMatch(op -> g.kind(op) == OpKind.RINT));
        INDArray images = SyntheticImages.generate(4, 3, 8, 8, 3);
        INDArray ours = net.output(images);
        INDArray ort = OrtSessions.run(Files.readAllBytes(file), "x", images, true).values().iterator().next();
        double rel = Transforms.abs(ours.sub(ort)).maxNumber().doubleValue() / Transforms.abs(ort).maxNumber().doubleValue();
        assertTrue(rel < 1e-4, "dfq4j vs ONNX Runtime (QDQ simulated): " + rel);
    }

    @Test
    void aQuantizeLinearOutputReadByAnythingButDequantizeLinearIsRefused() throws Exception {
        OnnxModelWriter m = new OnnxModelWriter(13).input("x", -1, 3, 4, 4);
        String s = m.floats("s", Nd4j.createFromArray(0.1f));
        String q = m.node("QuantizeLinear", "q", List.of("x", s));
        m.output(m.node("Relu", "relu", List.of(q)));
        Path file = m.write(dir.resolve("bad.onnx"));
        DfqException e = assertThrows(DfqException.class, () -> OnnxReader.read(file));
        assertTrue(e.getMessage().contains("'relu'") && e.getMessage().contains("only DequantizeLinear"), e.getMessage());
    }

    @Test
    void perAxisQuantizationOfAnActivationIsRefused() throws Exception {
        OnnxModelWriter m = new OnnxModelWriter(13).input("x", -1, 3, 4, 4);
        String s = m.floats("s", Nd4j.createFromArray(0.1f, 0.2f, 0.3f));
        String z = m.initializer(OnnxProtos.bytes("z", false, new int[3], 3));
        String q = m.node("QuantizeLinear", "q", List.of("x", s, z), OnnxModelWriter.integer("axis", 1));
        m.output(m.node("DequantizeLinear", "dq", List.of(q, s, z), OnnxModelWriter.integer("axis", 1)));
        Path file = m.write(dir.resolve("axis.onnx"));
        DfqException e = assertThrows(DfqException.class, () -> OnnxReader.read(file));
        assertTrue(e.getMessage().contains("per-axis quantization of a graph tensor"), e.getMessage());
    }

    @Test
    void int8WeightsDequantizeToTheirFloatValues() throws Exception {
        Network net = OnnxReader.read(model(false));
        GraphView g = GraphView.of(net);
        Map<String, INDArray> weights = new java.util.HashMap<>();
        g.weightLayers().forEach(l -> weights.put(l.kind().name(), g.constant(l.weights())));
        // the Gemm weight, [4 in, 3 out] as ONNX B, levels (i * 37) % 200 - 100, zero point 3, scale 0.01
        INDArray dense = weights.get("DENSE");
        assertEquals(((0 * 37) % 200 - 100 - 3) * 0.01f, dense.getFloat(0, 0), 1e-6f);
        assertEquals(((1 * 37) % 200 - 100 - 3) * 0.01f, dense.getFloat(0, 1), 1e-6f);
    }
}
