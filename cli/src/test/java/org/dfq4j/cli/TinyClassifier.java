package org.dfq4j.cli;

import java.awt.Color;
import java.awt.Graphics2D;
import java.awt.image.BufferedImage;
import java.io.IOException;
import java.nio.file.Path;
import java.util.List;
import javax.imageio.ImageIO;
import org.dfq4j.zoo.onnx.OnnxModelWriter;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;

/**
 * The tiny ONNX classifier several CLI tests run (1x1 conv to 4 channels, global average pooling, Gemm
 * to 2 classes) and plain photographs to run it on.
 */
final class TinyClassifier {

    private TinyClassifier() {
    }

    /** Writes the model (input [N,3,8,8], random weights) to {@code file} and returns it. */
    static Path write(Path file) throws IOException {
        return write(file, 8, Nd4j.rand(DataType.FLOAT, 4, 3, 1, 1), false, Nd4j.rand(DataType.FLOAT, 2, 4));
    }

    /**
     * Writes a classifier of this shape with given weights: input [3, size, size] -> 1x1 conv (weights
     * [k, 3, 1, 1]) -> relu (if asked) -> global average pool -> flatten -> Gemm with fcW [classes, k]
     * (transB), as ONNX opset 13.
     */
    static Path write(Path file, int size, INDArray convW, boolean relu, INDArray fcW) throws IOException {
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

    /** Writes a {@code width x height} PNG of one colour to {@code file}. */
    static void photo(Path file, Color colour, int width, int height) throws IOException {
        BufferedImage img = new BufferedImage(width, height, BufferedImage.TYPE_INT_RGB);
        Graphics2D g = img.createGraphics();
        g.setColor(colour);
        g.fillRect(0, 0, width, height);
        g.dispose();
        ImageIO.write(img, "png", file.toFile());
    }
}
