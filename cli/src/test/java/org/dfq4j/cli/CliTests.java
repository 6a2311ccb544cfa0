package org.dfq4j.cli;

import java.io.IOException;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.file.Path;
import java.util.List;
import org.dfq4j.zoo.onnx.OnnxModelWriter;
import org.nd4j.linalg.api.ndarray.INDArray;

/** What the CLI tests share: running the command line, and a tiny ONNX classifier. */
final class CliTests {

    private CliTests() {
    }

    /** A run's exit code and output. */
    record Run(int code, String out, String err) {
    }

    /** Runs {@code dfq args...} in this JVM. */
    static Run dfq(String... args) {
        StringWriter out = new StringWriter();
        StringWriter err = new StringWriter();
        int code = Dfq.execute(new PrintWriter(out), new PrintWriter(err), args);
        return new Run(code, out.toString(), err.toString());
    }

    /**
     * input [3, size, size] -> 1x1 conv (weights [k, 3, 1, 1]) -> relu (if asked) -> global average
     * pool -> flatten -> Gemm with fcW [classes, k] (transB), written as ONNX opset 13.
     */
    static Path classifier(Path file, int size, INDArray convW, boolean relu, INDArray fcW) throws IOException {
        OnnxModelWriter m = new OnnxModelWriter(13).input("x", -1, 3, size, size);
        String c = m.node("Conv", "conv", List.of("x", m.floats("w", convW)));
        if (relu) {
            c = m.node("Relu", "act", List.of(c));
        }
        String p = m.node("GlobalAveragePool", "pool", List.of(c));
        String f = m.node("Flatten", "flat", List.of(p));
        m.output(m.node("Gemm", "fc", List.of(f, m.floats("fcw", fcW)), OnnxModelWriter.integer("transB", 1)));
        return m.write(file);
    }
}
