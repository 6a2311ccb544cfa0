package org.dfq4j.zoo.tfjs;

import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import org.dfq4j.rewrite.DfqException;
import org.dfq4j.zoo.ReaderAssertions;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;
import com.fasterxml.jackson.databind.node.ObjectNode;

/**
 * Attributes, numbers and weight paths a TF.js model must get right, checked at read time: each
 * failure a one-line {@link DfqException} naming model.json and the layer or weight.
 */
class TfjsReaderValidationTest {

    @TempDir
    Path dir;

    private static DfqException refused(Path json, String... mustName) {
        return ReaderAssertions.refused(() -> TfjsLayersReader.read(json), json, mustName);
    }

    /** input 6x6x2 -> Conv2D 3x3 (3 filters) configured by {@code conv} -> GlobalAveragePooling2D. */
    private Path convModel(String name, java.util.function.Consumer<ObjectNode> conv, INDArray kernel) throws IOException {
        KerasModelWriter m = KerasModelWriter.functional(6, 6, 2);
        ObjectNode c = m.layer("Conv2D", "conv2d_1", "input_1").put("filters", 3).put("padding", "same");
        c.putArray("kernel_size").add(3).add(3);
        conv.accept(c);
        m.weight("conv2d_1/kernel", kernel);
        m.weight("conv2d_1/bias", Nd4j.rand(3));
        m.layer("GlobalAveragePooling2D", "gap", "conv2d_1");
        Path d = Files.createDirectories(dir.resolve(name));
        return m.write(d, "gap");
    }

    private Path convModel(String name, java.util.function.Consumer<ObjectNode> conv) throws IOException {
        return convModel(name, conv, Nd4j.rand(3, 3, 2, 3));
    }

    @Test
    void stridesOrDilationsBelowOneAreRefused() throws IOException {
        TfjsLayersReader.read(convModel("ok", c -> c.putArray("strides").add(2).add(2)));
        refused(convModel("s0", c -> c.putArray("strides").add(0).add(1)), "conv2d_1", "stride");
        refused(convModel("sneg", c -> c.put("strides", -1)), "conv2d_1", "stride");
        refused(convModel("d0", c -> c.putArray("dilation_rate").add(1).add(0)), "conv2d_1", "dilation");
        refused(convModel("dneg", c -> c.put("dilation_rate", -2)), "conv2d_1", "dilation");
    }

    @Test
    void nonFiniteWeightsAreRefusedNamingTheWeight() throws IOException {
        INDArray nan = Nd4j.rand(3, 3, 2, 3);
        nan.putScalar(4, Float.NaN);
        refused(convModel("nan", c -> { }, nan), "conv2d_1/kernel", "NaN");
        INDArray inf = Nd4j.rand(3, 3, 2, 3);
        inf.putScalar(0, Float.POSITIVE_INFINITY);
        refused(convModel("inf", c -> { }, inf), "conv2d_1/kernel", "Infinity");
    }

    /** input 4x4x2 -> BatchNormalization with the given moving variance. */
    private Path batchNorm(String name, INDArray variance) throws IOException {
        KerasModelWriter m = KerasModelWriter.functional(4, 4, 2);
        m.layer("BatchNormalization", "bn", "input_1").put("epsilon", 0.001);
        m.weight("bn/gamma", Nd4j.ones(2));
        m.weight("bn/beta", Nd4j.zeros(2));
        m.weight("bn/moving_mean", Nd4j.zeros(2));
        m.weight("bn/moving_variance", variance);
        Path d = Files.createDirectories(dir.resolve(name));
        return m.write(d, "bn");
    }

    @Test
    void negativeOrNonFiniteBatchNormStatisticsAreRefused() throws IOException {
        TfjsLayersReader.read(batchNorm("okbn", Nd4j.createFromArray(1f, 0f)));
        refused(batchNorm("negvar", Nd4j.createFromArray(1f, -0.5f)), "bn", "moving_variance", "negative");
        refused(batchNorm("nanvar", Nd4j.createFromArray(Float.NaN, 1f)), "bn/moving_variance", "NaN");
    }

    @Test
    void aPoolLargerThanItsInputIsRefused() throws IOException {
        KerasModelWriter m = KerasModelWriter.functional(4, 4, 2);
        m.layer("MaxPooling2D", "pool", "input_1").put("padding", "valid").put("pool_size", 300);
        Path d = Files.createDirectories(dir.resolve("pool"));
        refused(m.write(d, "pool"), "pool", "300");
    }

    /** The small conv model with its first shard path replaced by {@code path}. */
    private Path withShardPath(String name, String path) throws IOException {
        Path json = convModel(name, c -> { });
        String text = Files.readString(json).replaceFirst("\"group1-shard1of2\"", "\"" + path.replace("\\", "\\\\") + "\"");
        return Files.writeString(json, text);
    }

    @Test
    void weightPathsMustStayInsideTheModelFolder() throws IOException {
        Path outside = Files.write(dir.resolve("secret.bin"), new byte[64]);
        refused(withShardPath("up", "../secret.bin"), "../secret.bin", "outside");
        refused(withShardPath("abs", outside.toString()), outside.toString(), "outside");
        refused(withShardPath("dev", "/dev/zero"), "/dev/zero", "outside");
        refused(withShardPath("updown", "sub/../../secret.bin"), "outside");
    }

    @Test
    void aModelPathWithDotDotReadsItsOwnShards() throws IOException {
        // as ./dfq is given it: ../shared/data/models/... from the project folder
        Path json = convModel("dotdot", c -> { });
        Path via = json.getParent().resolve("..").resolve(json.getParent().getFileName()).resolve(json.getFileName());
        assertTrue(via.toString().contains(".."), via.toString());
        TfjsLayersReader.read(via);
    }

    @Test
    void aWeightPathThatIsALinkOutOfTheFolderIsRefused() throws IOException {
        Path json = convModel("link", c -> { });
        Path shard = json.resolveSibling("group1-shard1of2");
        Path moved = Files.move(shard, dir.resolve("moved-shard"));
        Files.createSymbolicLink(shard, moved);
        refused(json, "group1-shard1of2", "outside");
    }

    @Test
    void aShardPathNamingAFolderOrDeviceIsRefused() throws IOException {
        Path json = convModel("folder", c -> { });
        Files.createDirectories(json.resolveSibling("sub"));
        refused(Files.writeString(json, Files.readString(json).replaceFirst("\"group1-shard1of2\"", "\"sub\"")),
                "sub", "not a regular file");
    }
}
