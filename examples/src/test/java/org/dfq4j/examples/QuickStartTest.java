package org.dfq4j.examples;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import java.awt.Color;
import java.awt.Graphics2D;
import java.awt.image.BufferedImage;
import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Random;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import javax.imageio.ImageIO;
import org.dfq4j.rewrite.graph.Network;
import org.dfq4j.rewrite.graph.NetworkBuilder;
import org.dfq4j.rewrite.graph.NetworkFile;
import org.dfq4j.rewrite.graph.OpKind;
import org.dfq4j.rewrite.graph.Padding;
import org.dfq4j.rewrite.testing.OpCounts;
import org.dfq4j.rewrite.testing.SharedData;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.nd4j.autodiff.samediff.SDVariable;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.factory.Nd4j;

/** The README's example runs as written: on a generated model and photographs, and on the real MobileNetV2. */
class QuickStartTest {

    private static final Pattern LINE = Pattern.compile("top-1 FP32 (\\d+), 8-bit (\\d+), reloaded (\\d+); (\\d+) rewrites logged");

    @TempDir
    Path dir;

    /** Runs QuickStart.main and returns {FP32, 8-bit, reloaded, log size}. */
    private static int[] run(String... args) {
        ByteArrayOutputStream bytes = new ByteArrayOutputStream();
        PrintStream before = System.out;
        System.setOut(new PrintStream(bytes, true, StandardCharsets.UTF_8));
        try {
            QuickStart.main(args);
        } finally {
            System.setOut(before);
        }
        String out = bytes.toString(StandardCharsets.UTF_8);
        Matcher m = LINE.matcher(out);
        assertTrue(m.find(), out);
        return new int[] {Integer.parseInt(m.group(1)), Integer.parseInt(m.group(2)), Integer.parseInt(m.group(3)),
                Integer.parseInt(m.group(4))};
    }

    /** A small classifier file: conv -> BN -> relu6 -> identity -> depthwise -> BN -> relu6 -> pool -> dense. */
    private static Path generatedModel(Path dir) {
        Random r = new Random(3);
        NetworkBuilder b = new NetworkBuilder("generated", 3, 32, 32);
        SDVariable x = b.conv2d("c1", b.input(), gaussian(r, 0.3, 3, 3, 3, 8), null, 2, 2, Padding.SAME, 1, 1);
        x = b.relu6("r1", b.batchNorm("bn1", x, gaussian(r, 0.1, 8), Nd4j.ones(DataType.FLOAT, 8).muli(0.5),
                gaussian(r, 0.5, 8).addi(1), gaussian(r, 0.5, 8), 1e-3));
        x = b.sameDiff().identity("id", x);
        x = b.depthwiseConv2d("d1", x, gaussian(r, 0.5, 3, 3, 8, 1), null, 1, 1, Padding.SAME, 1, 1);
        x = b.relu6("r2", b.batchNorm("bn2", x, gaussian(r, 0.1, 8), Nd4j.ones(DataType.FLOAT, 8),
                gaussian(r, 0.5, 8).addi(1), gaussian(r, 0.5, 8), 1e-3));
        b.dense("fc", b.globalAvgPool("gap", x, false), gaussian(r, 0.5, 8, 5), null);
        Path file = dir.resolve("generated" + NetworkFile.EXTENSION);
        NetworkFile.save(b.build("fc"), file);
        return file;
    }

    private static org.nd4j.linalg.api.ndarray.INDArray gaussian(Random r, double std, long... shape) {
        return Nd4j.randn(DataType.FLOAT, shape).muli(std);
    }

    private static Path photographs(Path dir) throws Exception {
        Path photos = Files.createDirectory(dir.resolve("photos"));
        Random r = new Random(5);
        for (int i = 0; i < 9; i++) {
            BufferedImage img = new BufferedImage(48, 40, BufferedImage.TYPE_INT_RGB);
            Graphics2D g = img.createGraphics();
            for (int k = 0; k < 12; k++) {
                g.setColor(new Color(r.nextInt(256), r.nextInt(256), r.nextInt(256)));
                g.fillRect(r.nextInt(40), r.nextInt(32), 4 + r.nextInt(20), 4 + r.nextInt(20));
            }
            g.dispose();
            ImageIO.write(img, "png", photos.resolve("photo_" + i + ".png").toFile());
        }
        return photos;
    }

    @Test
    void runsOnAGeneratedModelAndPhotographs() throws Exception {
        Nd4j.getRandom().setSeed(7);
        Path model = generatedModel(dir);
        Path out = dir.resolve("quantized" + NetworkFile.EXTENSION);
        int[] r = run(model.toString(), photographs(dir).toString(), out.toString());
        assertEquals(r[1], r[2], "the reloaded network predicts what the saved one did");
        assertTrue(r[3] > 10, "the log holds the rewrites: " + r[3]);
        Network saved = NetworkFile.load(out);
        Map<OpKind, Integer> ops = OpCounts.of(saved);
        assertEquals(null, ops.get(OpKind.IDENTITY), "the custom rule removed the identity: " + ops);
        assertEquals(null, ops.get(OpKind.BATCH_NORM), "BatchNorm folded: " + ops);
        assertTrue(ops.getOrDefault(OpKind.FAKE_QUANT, 0) >= 3, "activations fake-quantized: " + ops);
    }

    @Test
    void runsOnTheRealMobileNetV2() {
        Optional<Path> model = SharedData.file("models/mobilenet_v2_1.0_224_ptq.tflite");
        Optional<Path> photos = SharedData.file("images/imagenet-dev");
        assumeTrue(model.isPresent() && photos.isPresent(), SharedData.missing("models/mobilenet_v2_1.0_224_ptq.tflite"));
        Path out = dir.resolve("mobilenet" + NetworkFile.EXTENSION);
        int[] r = run(model.get().toString(), photos.get().toString(), out.toString());
        assertEquals(r[1], r[2], "the reloaded network predicts what the saved one did");
        assertTrue(r[0] > 0 && r[0] <= 1000, "a class index: " + r[0]);
    }

    @Test
    void theReadmeShowsThisFile() throws Exception {
        String readme = Files.readString(Path.of("..", "README.md"));
        String file = Files.readString(Path.of("src/main/java/org/dfq4j/examples/QuickStart.java"));
        int section = readme.indexOf("\n## Java API");
        assertTrue(section >= 0, "README has a Java API section");
        int start = readme.indexOf("```java\npackage org.dfq4j.examples;", section);
        assertTrue(start >= 0, "the Java API section shows the example");
        int from = start + "```java\n".length();
        String block = readme.substring(from, readme.indexOf("```", from));
        assertEquals(file, block, "README block and examples/src/main/java/org/dfq4j/examples/QuickStart.java differ");
        assertTrue(file.lines().count() <= 40, "the example is at most 40 lines");
        List<String> deps = List.of("<artifactId>dfq4j-cpu</artifactId>", "<type>pom</type>");
        deps.forEach(d -> assertTrue(readme.substring(section).contains(d), "README names " + d));
    }
}
