package org.dfq4j.zoo.onnx;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import org.dfq4j.rewrite.DfqException;
import org.dfq4j.rewrite.DfqRecipe;
import org.dfq4j.rewrite.graph.Network;
import org.dfq4j.zoo.onnx.TorchvisionFixturesTest.Architecture;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;
import org.junit.jupiter.params.provider.ValueSource;
import org.nd4j.linalg.api.ndarray.INDArray;

/**
 * The torchvision fixtures (read by the ONNX reader, equalized) exported to ONNX again: what the exporter
 * writes runs in ONNX Runtime with dfq4j's outputs, including the ops the reader gained for PyTorch's
 * models (grouped convolutions as block-diagonal kernels, HardSigmoid/HardSwish, squeeze-excitation);
 * what it cannot write (a Gather of channels, a strided slice of a graph tensor) is refused in one line
 * naming the op.
 */
class TorchvisionExportTest {

    private static Network equalized(String name) throws IOException {
        Architecture a = TorchvisionFixturesTest.architectures().stream().filter(r -> r.name().equals(name))
                .findFirst().orElseThrow();
        return DfqRecipe.builder().equalize(true).build().floatPipeline()
                .run(TorchvisionFixturesTest.read(name + "_op13_bnkept", a)).network();
    }

    private static INDArray input(Network net) {
        long[] s = net.inputShape();
        return TorchvisionFixturesTest.input((int) s[1], (int) s[2]);
    }

    /** resnet18 (residual adds), mobilenet_v2 (ReLU6 clips), mobilenet_v3_small (HardSwish, HardSigmoid SE), regnet (grouped). */
    @ParameterizedTest(name = "{0}")
    @ValueSource(strings = {"resnet18", "mobilenet_v2", "mobilenet_v3_small", "regnet_x_400mf"})
    void floatExportRunsInOnnxRuntimeAsDfq4jComputes(String name) throws Exception {
        Network net = equalized(name);
        INDArray x = input(net);
        byte[] bytes = OnnxExporter.export(net).bytes();
        INDArray ort = OrtSessions.run(bytes, net.input(), x, false).values().iterator().next();
        INDArray ours = net.output(x);
        assertEquals(java.util.Arrays.toString(ours.shape()), java.util.Arrays.toString(ort.shape()), name);
        double err = TorchvisionFixturesTest.relativeError(ort, ours);
        assertTrue(err <= TorchvisionFixturesTest.TOLERANCE, name + ": ONNX Runtime vs dfq4j, relative " + err);
    }

    @ParameterizedTest(name = "{0}")
    @CsvSource({"shufflenet_v2_x1_0, strided_slice", "googlenet, gather"})
    void whatTheExporterCannotWriteIsRefusedInOneLineNamingTheOp(String name, String op) throws Exception {
        Network net = equalized(name);
        DfqException e = assertThrows(DfqException.class, () -> OnnxExporter.export(net));
        assertTrue(e.getMessage().startsWith("cannot export op '" + op + "'"), e.getMessage());
        assertFalse(e.getMessage().contains("\n"), e.getMessage());
    }
}
