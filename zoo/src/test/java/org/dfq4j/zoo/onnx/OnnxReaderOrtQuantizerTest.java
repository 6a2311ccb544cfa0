package org.dfq4j.zoo.onnx;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.HashSet;
import java.util.Set;
import onnx.Onnx.ModelProto;
import onnx.Onnx.NodeProto;
import onnx.Onnx.TensorProto;
import org.dfq4j.rewrite.graph.Network;
import org.dfq4j.rewrite.graph.OpKind;
import org.dfq4j.rewrite.view.GraphView;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;
import org.nd4j.linalg.ops.transforms.Transforms;

/**
 * QDQ files written by ONNX Runtime's own static quantizer ({@code quantize_static}, ONNX Runtime 1.30;
 * script and regeneration steps in src/test/resources/onnx/README.md) from the PyTorch CNN of
 * {@link OnnxReaderPyTorchTest}: uint8 activations with int8 per-tensor weights, and int8 activations with
 * int8 per-channel weights; int32 biases, per tensor and per axis. dfq4j's reader must compute what ONNX
 * Runtime computes with QDQ fusion disabled, with one fake-quant per activation QuantizeLinear.
 */
class OnnxReaderOrtQuantizerTest {

    @ParameterizedTest(name = "{0}")
    @ValueSource(strings = {"tiny_cnn_qdq_u8.onnx", "tiny_cnn_qdq_s8_per_channel.onnx"})
    void readsOnnxRuntimeQuantizerOutputAsOnnxRuntimeRunsIt(String file) throws Exception {
        Path path = Path.of(getClass().getResource("/onnx/" + file).toURI());
        byte[] bytes = Files.readAllBytes(path);
        Network net = OnnxReader.read(path);
        INDArray x = Nd4j.createFromNpyFile(Path.of(getClass().getResource("/onnx/tiny_cnn_input.npy").toURI()).toFile());

        INDArray ours = net.output(x);
        INDArray ort = OrtSessions.run(bytes, "input", x, true).get("logits");

        assertArrayEquals(ort.shape(), ours.shape());
        // Both compute the same fake-quant network, but their float sums differ in order (and in FMA use, which
        // depends on the processor), so a pre-quantization value within float rounding of a rounding boundary
        // may land one level apart. What holds on any processor: every logit equal to float rounding or one
        // step of the logits' quantizer apart, almost all of them equal, and the same top-1.
        ModelProto m = ModelProto.parseFrom(bytes);
        double step = logitStep(m, "logits");
        double range = Transforms.abs(ort).maxNumber().doubleValue();
        INDArray diff = Transforms.abs(ours.sub(ort));
        double maxDiff = diff.maxNumber().doubleValue();
        long equal = diff.lt(1e-4 * range).castTo(org.nd4j.linalg.api.buffer.DataType.INT32).sumNumber().longValue();
        assertTrue(maxDiff <= step * (1 + 1e-3) + 1e-4 * range,
                "dfq4j vs ONNX Runtime (QDQ simulated) on " + file + ": a logit " + maxDiff + " apart, more than one level " + step);
        assertTrue(equal >= ort.length() - Math.max(1, ort.length() / 10),
                file + ": only " + equal + " of " + ort.length() + " logits equal to 1e-4");
        assertEquals(ort.argMax(1), ours.argMax(1));

        // every QuantizeLinear of a graph tensor other than the network input became one fake-quant
        // (the input's is computed as QuantizeLinear rounds, ties to even); weights and biases were
        // integer initializers, now dequantized constants
        Set<String> initializers = new HashSet<>();
        m.getGraph().getInitializerList().forEach(t -> initializers.add(t.getName()));
        long activationQuantizers = m.getGraph().getNodeList().stream()
                .filter(n -> n.getOpType().equals("QuantizeLinear") && !initializers.contains(n.getInput(0))
                        && !n.getInput(0).equals("input"))
                .count();
        long int8Weights = m.getGraph().getInitializerList().stream()
                .filter(t -> t.getDataType() == TensorProto.DataType.INT8_VALUE && t.getDimsCount() >= 2).count();
        assertTrue(activationQuantizers > 20 && int8Weights == 9, activationQuantizers + " / " + int8Weights);
        GraphView g = GraphView.of(net);
        assertEquals(activationQuantizers, g.ops().stream().filter(op -> g.kind(op) == OpKind.FAKE_QUANT).count());
        assertTrue(m.getGraph().getNodeList().stream().map(NodeProto::getOpType).noneMatch(t -> t.startsWith("QLinear")),
                "a QDQ file, not a QOperator one");
    }

    /** The scale of the DequantizeLinear that writes {@code output}: one level of the logits. */
    private static double logitStep(ModelProto m, String output) {
        NodeProto dq = m.getGraph().getNodeList().stream()
                .filter(n -> n.getOutputList().contains(output)).findFirst().orElseThrow();
        assertEquals("DequantizeLinear", dq.getOpType(), "the logits come out of a DequantizeLinear");
        TensorProto scale = m.getGraph().getInitializerList().stream()
                .filter(t -> t.getName().equals(dq.getInput(1))).findFirst().orElseThrow();
        assertEquals(TensorProto.DataType.FLOAT_VALUE, scale.getDataType());
        return scale.getFloatDataCount() > 0 ? scale.getFloatData(0)
                : java.nio.ByteBuffer.wrap(scale.getRawData().toByteArray()).order(java.nio.ByteOrder.LITTLE_ENDIAN).getFloat();
    }
}
