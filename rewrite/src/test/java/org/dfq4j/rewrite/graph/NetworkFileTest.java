package org.dfq4j.rewrite.graph;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.Map;
import java.util.Random;
import org.dfq4j.rewrite.DfqException;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;

class NetworkFileTest {

    private static Network small() {
        Nd4j.getRandom().setSeed(3);
        NetworkBuilder b = new NetworkBuilder("small", 3, 8, 8);
        var c = b.conv2d("c", b.input(), Nd4j.randn(DataType.FLOAT, 3, 3, 3, 4), Nd4j.randn(DataType.FLOAT, 4), 2, 2,
                Padding.SAME, 1, 1);
        var r = b.relu6("r", c);
        var d = b.depthwiseConv2d("d", r, Nd4j.randn(DataType.FLOAT, 3, 3, 4, 1), null, 1, 1, Padding.SAME, 1, 1);
        b.dense("fc", b.globalAvgPool("gap", d, false), Nd4j.randn(DataType.FLOAT, 4, 5), null);
        return b.build("fc").withRecordedRanges(Map.of("r", new TensorRange(0, 6)))
                .withStats(Map.of("c", new ChannelStats(new double[] {1, 2, 3, 4}, new double[] {0.5, 0.5, 1, 2})))
                .withProperties(Map.of("format", "test"))
                .withAttachments(Map.of("anchors", Nd4j.rand(DataType.FLOAT, 7, 4)));
    }

    @Test
    void roundTripGivesIdenticalOutputsAndMetadata(@TempDir Path dir) throws java.io.IOException {
        Network n = small();
        Path f = dir.resolve("net" + NetworkFile.EXTENSION);
        NetworkFile.save(n, f);
        Network back = NetworkFile.load(f);
        INDArray x = Nd4j.rand(DataType.FLOAT, 2, 3, 8, 8);
        assertEquals(n.output(x), back.output(x), "outputs must be bit-identical");
        assertEquals(n.outputs(), back.outputs());
        assertArrayEquals(n.inputShape(), back.inputShape());
        assertEquals(n.recordedRanges(), back.recordedRanges());
        assertEquals(n.stats(), back.stats());
        assertEquals(n.properties(), back.properties());
        assertEquals(n.attachments().get("anchors"), back.attachments().get("anchors"));
        try (var files = Files.list(dir)) {
            assertEquals(1, files.count(), "no temporary file left behind");
        }
    }

    @Test
    void damagedFilesAreOneLineErrors(@TempDir Path dir) throws java.io.IOException {
        Path f = dir.resolve("net.dfq");
        NetworkFile.save(small(), f);
        byte[] all = Files.readAllBytes(f);
        Path truncated = dir.resolve("truncated.dfq");
        Files.write(truncated, Arrays.copyOf(all, all.length / 2));
        Path random = dir.resolve("random.dfq");
        byte[] junk = new byte[1000];
        new Random(1).nextBytes(junk);
        Files.write(random, junk);
        for (Path p : new Path[] {truncated, random, dir.resolve("missing.dfq")}) {
            DfqException e = assertThrows(DfqException.class, () -> NetworkFile.load(p));
            assertTrue(e.getMessage().contains(p.getFileName().toString()), e.getMessage());
            assertFalse(e.getMessage().contains("\n"), e.getMessage());
        }
    }
}
