package org.dfq4j.zoo.tflite;

import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.Optional;
import java.util.Random;
import org.dfq4j.rewrite.DfqException;
import org.dfq4j.rewrite.testing.SharedData;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.tensorflow.lite.schema.ActivationFunctionType;
import org.tensorflow.lite.schema.BuiltinOperator;
import org.tensorflow.lite.schema.BuiltinOptions;
import org.tensorflow.lite.schema.Conv2DOptions;
import org.tensorflow.lite.schema.Padding;

/** Missing, empty, random, truncated and unsupported files: each a one-line DfqException naming the file. */
class TfliteReaderErrorsTest {

    @TempDir
    Path dir;

    private static DfqException failsNamingFile(Path f) {
        DfqException e = assertThrows(DfqException.class, () -> TfliteReader.read(f));
        assertTrue(e.getMessage().contains(f.toString()), e.getMessage());
        assertFalse(e.getMessage().contains("\n"), "one line: " + e.getMessage());
        return e;
    }

    private Path write(String name, byte[] bytes) throws IOException {
        Path f = dir.resolve(name);
        Files.write(f, bytes);
        return f;
    }

    /** A valid two-op model: conv then relu. */
    private static byte[] tinyModel() {
        TinyTflite t = new TinyTflite();
        int x = t.activation("x", 1, 5, 5, 2);
        int w = t.floats("w", NhwcReference.randomFloats(3 * 3 * 3 * 2, 1), 3, 3, 3, 2);
        int y = t.activation("y", 1, 3, 3, 3);
        int z = t.activation("z", 1, 3, 3, 3);
        int opts = Conv2DOptions.createConv2DOptions(t.fb(), Padding.SAME, 2, 2, ActivationFunctionType.NONE, 1, 1);
        t.op(BuiltinOperator.CONV_2D, BuiltinOptions.Conv2DOptions, opts, new int[] {x, w, -1}, new int[] {y});
        t.op(BuiltinOperator.RELU, new int[] {y}, new int[] {z});
        return t.finish(new int[] {x}, new int[] {z});
    }

    @Test
    void missingFile() {
        failsNamingFile(dir.resolve("absent.tflite"));
    }

    @Test
    void emptyFile() throws IOException {
        assertTrue(failsNamingFile(write("empty.tflite", new byte[0])).getMessage().contains("TFL3"));
    }

    @Test
    void randomBytes() throws IOException {
        byte[] b = new byte[10_000];
        new Random(42).nextBytes(b);
        assertTrue(failsNamingFile(write("random.tflite", b)).getMessage().contains("TFL3"));
    }

    @Test
    void randomBytesBehindTheIdentifier() throws IOException {
        Random r = new Random(43);
        for (int trial = 0; trial < 200; trial++) {
            byte[] b = new byte[2_000];
            r.nextBytes(b);
            System.arraycopy("TFL3".getBytes(StandardCharsets.US_ASCII), 0, b, 4, 4);
            failsNamingFile(write("garbage" + trial + ".tflite", b));
        }
    }

    @Test
    void everyTruncationOfATinyModel() throws IOException {
        byte[] full = tinyModel();
        TfliteReader.read(write("full.tflite", full)); // the untruncated model reads
        for (int len = 0; len < full.length; len += 3) {
            byte[] cut = Arrays.copyOf(full, len);
            failsNamingFile(write("cut" + len + ".tflite", cut));
        }
    }

    @Test
    void truncatedRealModel() throws IOException {
        Optional<Path> model = SharedData.file("models/mobilenet_v2_1.0_224_qat_uint8.tflite");
        Assumptions.assumeTrue(model.isPresent(), SharedData.missing("models/mobilenet_v2_1.0_224_qat_uint8.tflite"));
        byte[] half;
        try (InputStream in = Files.newInputStream(model.get())) {
            half = in.readNBytes((int) (Files.size(model.get()) / 2));
        }
        failsNamingFile(write("half.tflite", half));
    }

    @Test
    void unsupportedOpIsNamed() throws IOException {
        DfqException e = failsNamingFile(write("tanh.tflite", TinyTflite.unary(BuiltinOperator.TANH)));
        assertTrue(e.getMessage().contains("TANH"), e.getMessage());
    }
}
