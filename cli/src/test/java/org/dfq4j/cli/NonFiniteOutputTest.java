package org.dfq4j.cli;

import static org.dfq4j.cli.DfqRun.dfq;

import java.awt.image.BufferedImage;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import javax.imageio.ImageIO;
import org.dfq4j.zoo.onnx.OnnxModelWriter;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.factory.Nd4j;

/** A network whose outputs overflow to Inf (finite but huge weights) is reported as such, not scored. */
class NonFiniteOutputTest {

    @TempDir
    Path dir;

    @Test
    void infiniteLogitsAreAnErrorNotAScore() throws Exception {
        OnnxModelWriter m = new OnnxModelWriter(13).input("x", -1, 3, 8, 8);
        String c = m.node("Conv", "conv", List.of("x", m.floats("w", Nd4j.valueArrayOf(new long[] {4, 3, 1, 1}, 1e30f))));
        String p = m.node("GlobalAveragePool", "pool", List.of(c));
        String f = m.node("Flatten", "flat", List.of(p));
        m.output(m.node("Gemm", "fc", List.of(f, m.floats("fcw", Nd4j.valueArrayOf(new long[] {2, 4}, 1e30f))),
                OnnxModelWriter.integer("transB", 1)));
        Path model = m.write(dir.resolve("overflow.onnx"));
        Path classes = Files.writeString(dir.resolve("classes.txt"), "n01\nn02\n");
        Path photos = Files.createDirectory(dir.resolve("photos"));
        BufferedImage im = new BufferedImage(8, 8, BufferedImage.TYPE_INT_RGB);
        im.setRGB(3, 3, 0xFFFFFF);
        ImageIO.write(im, "png", photos.resolve("n01_a.png").toFile());
        dfq("eval", "--model", model.toString(), "--images", photos.toString(), "--labels", classes.toString(),
                "--preprocess", "unit").failsWithOneLine("overflow", "Infinity");
    }
}
