package org.dfq4j.zoo.onnx;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.net.URISyntaxException;
import java.nio.file.Path;
import java.util.Map;
import org.dfq4j.rewrite.testing.OpCounts;
import org.dfq4j.rewrite.graph.OpKind;
import org.dfq4j.rewrite.graph.Network;
import org.junit.jupiter.api.Test;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;

/**
 * A small CNN exported by PyTorch 1.13 (opset 13; script and regeneration steps in
 * src/test/resources/onnx/README.md) must reproduce PyTorch's own output on PyTorch's input.
 */
class OnnxReaderPyTorchTest {

    @Test
    void reproducesPyTorchOutput() throws Exception {
        Network net = OnnxReader.read(resource("tiny_cnn.onnx"));
        INDArray x = Nd4j.createFromNpyFile(resource("tiny_cnn_input.npy").toFile());
        INDArray expected = Nd4j.createFromNpyFile(resource("tiny_cnn_output.npy").toFile());

        INDArray y = net.output(x);

        assertArrayEquals(expected.shape(), y.shape());
        double scale = Math.max(1.0, expected.amaxNumber().doubleValue());
        double diff = y.sub(expected).amaxNumber().doubleValue();
        assertTrue(diff <= 1e-4 * scale, "max |ours - PyTorch| = " + diff + " (output scale " + scale + ")");
    }

    @Test
    void emitsCanonicalOpsAndFoldsShapeArithmetic() throws Exception {
        Network net = OnnxReader.read(resource("tiny_cnn.onnx"));
        Map<OpKind, Integer> ops = OpCounts.of(net);
        assertEquals(6, ops.getOrDefault(OpKind.CONV2D, 0), ops.toString());
        assertEquals(2, ops.getOrDefault(OpKind.DEPTHWISE_CONV2D, 0), ops.toString());
        assertEquals(4, ops.getOrDefault(OpKind.BATCH_NORM, 0), ops.toString());
        assertEquals(1, ops.getOrDefault(OpKind.DENSE, 0), ops.toString());
        // shape arithmetic (shape_of, gather, strided_slice, transpose, cast ...) is folded at import:
        // every op left is one of the canonical kinds
        assertEquals(Map.of(), OpCounts.others(net), "ops outside the registry left in the graph");
        assertEquals("onnx", net.properties().get("format"));
        assertEquals(resource("tiny_cnn.onnx").toString(), net.properties().get("source"));
        assertArrayEquals(new long[] {3, 32, 32}, net.inputShape());
    }

    private static Path resource(String name) throws URISyntaxException {
        return Path.of(OnnxReaderPyTorchTest.class.getResource("/onnx/" + name).toURI());
    }
}
