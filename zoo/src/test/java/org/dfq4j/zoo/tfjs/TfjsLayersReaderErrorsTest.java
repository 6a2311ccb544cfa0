package org.dfq4j.zoo.tfjs;

import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import org.dfq4j.rewrite.DfqException;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.nd4j.linalg.factory.Nd4j;

/** Bad input gives a one-line {@link DfqException} that names the offending file (and layer). */
class TfjsLayersReaderErrorsTest {

    @TempDir
    Path dir;

    /** input 4x4x2 -> Conv2D 1x1 (3 filters, bias) -> GlobalAveragePooling2D. */
    private KerasModelWriter smallModel() {
        KerasModelWriter m = KerasModelWriter.functional(4, 4, 2);
        var c = m.layer("Conv2D", "conv2d_1", "input_1").put("filters", 3).put("padding", "valid");
        c.putArray("kernel_size").add(1).add(1);
        m.weight("conv2d_1/kernel", Nd4j.rand(1, 1, 2, 3));
        m.weight("conv2d_1/bias", Nd4j.rand(3));
        m.layer("GlobalAveragePooling2D", "gap", "conv2d_1");
        return m;
    }

    private static DfqException readFails(Path json, String... mustName) {
        DfqException e = assertThrows(DfqException.class, () -> TfjsLayersReader.read(json));
        String msg = e.getMessage();
        assertFalse(msg.contains("\n") || msg.contains("\r"), "not one line: " + msg);
        assertTrue(msg.contains(json.toString()), "does not name " + json + ": " + msg);
        for (String s : mustName) {
            assertTrue(msg.contains(s), "does not name " + s + ": " + msg);
        }
        return e;
    }

    @Test
    void theSmallModelItselfReads() throws IOException {
        assertTrue(TfjsLayersReader.read(smallModel().write(dir, "gap")).outputs().contains("gap"));
    }

    @Test
    void badJson() throws IOException {
        Path json = Files.writeString(dir.resolve("model.json"), "{\"modelTopology\": {\"model_config\": [1, 2,\n");
        readFails(json, "invalid JSON");
    }

    @Test
    void missingFile() {
        readFails(dir.resolve("model.json"), "not found");
    }

    @Test
    void missingShard() throws IOException {
        Path json = smallModel().write(dir, "gap");
        Files.delete(dir.resolve("group1-shard2of2"));
        readFails(json, "group1-shard2of2", "missing");
    }

    /** The small model with its second shard cut or grown by {@code delta} bytes. */
    private Path withResizedShard(int delta) throws IOException {
        Path json = smallModel().write(dir, "gap");
        Path shard = dir.resolve("group1-shard2of2");
        byte[] b = Files.readAllBytes(shard);
        Files.write(shard, Arrays.copyOf(b, b.length + delta));
        return json;
    }

    @Test
    void truncatedShard() throws IOException {
        readFails(withResizedShard(-3), "group1-shard2of2", "truncated");
    }

    @Test
    void oversizedShard() throws IOException {
        readFails(withResizedShard(4), "group1-shard2of2");
    }

    @Test
    void unsupportedLayerClass() throws IOException {
        KerasModelWriter m = smallModel();
        m.layer("SeparableConv2D", "separable_conv2d_1", "gap");
        readFails(m.write(dir, "separable_conv2d_1"), "SeparableConv2D", "separable_conv2d_1");
    }

    @Test
    void unsupportedActivation() throws IOException {
        KerasModelWriter m = smallModel();
        m.layer("Activation", "activation_1", "gap").put("activation", "elu");
        readFails(m.write(dir, "activation_1"), "activation_1", "elu");
    }

    @Test
    void missingWeight() throws IOException {
        KerasModelWriter m = smallModel();
        m.layer("Dense", "dense_1", "gap").put("units", 2);
        readFails(m.write(dir, "dense_1"), "dense_1/kernel");
    }

    @Test
    void weightShapeDisagreesWithConfig() throws IOException {
        KerasModelWriter m = smallModel();
        m.layer("Dense", "dense_1", "gap").put("units", 2);
        m.weight("dense_1/kernel", Nd4j.rand(4, 2));
        m.weight("dense_1/bias", Nd4j.rand(2));
        readFails(m.write(dir, "dense_1"), "dense_1", "[4, 2]", "[3, 2]");
    }

    @Test
    void unsupportedQuantization() throws IOException {
        KerasModelWriter m = smallModel();
        m.layer("Dense", "dense_1", "gap").put("units", 1).put("use_bias", false);
        m.quantizedWeight("dense_1/kernel", new long[] {3, 1}, new byte[] {1, 2, 3}, "int8", 0.0, 1.0);
        readFails(m.write(dir, "dense_1"), "dense_1/kernel", "int8");
    }

    @Test
    void graphModel() throws IOException {
        Path json = Files.writeString(dir.resolve("model.json"),
                "{\"format\": \"graph-model\", \"modelTopology\": {\"node\": []}, \"weightsManifest\": []}");
        readFails(json, "graph model");
    }
}
