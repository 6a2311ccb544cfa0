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
        double rel = Transforms.abs(ours.sub(ort)).maxNumber().doubleValue() / Transforms.abs(ort).maxNumber().doubleValue();
        assertTrue(rel < 1e-4, "dfq4j vs ONNX Runtime (QDQ simulated) on " + file + ": relative difference " + rel);
        assertEquals(ort.argMax(1), ours.argMax(1));

        // every QuantizeLinear of a graph tensor other than the network input became one fake-quant
        // (the input's is computed as QuantizeLinear rounds, ties to even); weights and biases were
        // integer initializers, now dequantized constants
        ModelProto m = ModelProto.parseFrom(bytes);
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
}
