package org.dfq4j.zoo.onnx;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.net.URISyntaxException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.stream.Stream;
import org.dfq4j.rewrite.DfqRecipe;
import org.dfq4j.rewrite.graph.Network;
import org.dfq4j.rewrite.graph.WeightLayer;
import org.dfq4j.rewrite.view.GraphView;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;

/**
 * Fourteen reduced-width torchvision classifiers (and export_shapes), exported by PyTorch at opsets
 * 11, 13 and 17 with BatchNorm folded and kept (src/test/resources/onnx/torchvision, README there):
 * each imports, reproduces PyTorch's logits to 1e-4 of their largest magnitude, and the float DFQ
 * pipeline (BatchNorm folding, dead channels, cross-layer equalization keeping ReLU6 exact) changes
 * its output by no more than that.
 */
class TorchvisionFixturesTest {

    static final double TOLERANCE = 1e-4;

    /** One line of manifest.csv. */
    record Architecture(String name, int height, int width, boolean symbolicHw) {
    }

    static Path folder() {
        try {
            return Path.of(TorchvisionFixturesTest.class.getResource("/onnx/torchvision/manifest.csv").toURI()).getParent();
        } catch (URISyntaxException e) {
            throw new IllegalStateException(e);
        }
    }

    static List<Architecture> architectures() throws IOException {
        List<Architecture> out = new ArrayList<>();
        List<String> lines = Files.readAllLines(folder().resolve("manifest.csv"));
        for (String line : lines.subList(1, lines.size())) {
            String[] f = line.split(",");
            out.add(new Architecture(f[0], Integer.parseInt(f[1]), Integer.parseInt(f[2]), f[3].equals("1")));
        }
        return out;
    }

    static Stream<Arguments> files() throws IOException {
        List<Arguments> out = new ArrayList<>();
        for (Architecture a : architectures()) {
            for (int opset : new int[] {11, 13, 17}) {
                for (String variant : new String[] {"bnfolded", "bnkept"}) {
                    out.add(Arguments.of(a.name() + "_op" + opset + "_" + variant, a));
                }
            }
        }
        return out.stream();
    }

    /** The fixed input of the generating script: element i of [2,3,H,W] is ((i*7919+13) mod 1021 - 510)/256. */
    static INDArray input(int h, int w) {
        float[] x = new float[2 * 3 * h * w];
        for (int i = 0; i < x.length; i++) {
            x[i] = (float) ((((long) i * 7919 + 13) % 1021 - 510) / 256.0);
        }
        return Nd4j.create(x, new long[] {2, 3, h, w});
    }

    static Network read(String file, Architecture a) {
        Path p = folder().resolve(file + ".onnx");
        return a.symbolicHw() ? OnnxReader.read(p, new long[] {3, a.height(), a.width()}) : OnnxReader.read(p);
    }

    /** max |a - b| over max |reference|. */
    static double relativeError(INDArray a, INDArray reference) {
        return a.sub(reference).amaxNumber().doubleValue() / reference.amaxNumber().doubleValue();
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("files")
    void matchesPyTorchAndTheFloatPipelineKeepsIt(String file, Architecture a) {
        Network net = read(file, a);
        INDArray x = input(a.height(), a.width());
        INDArray expected = Nd4j.createFromNpyFile(folder().resolve(a.name() + ".logits.npy").toFile());

        INDArray y = net.output(x);
        assertArrayEquals(expected.shape(), y.shape(), file);
        double err = relativeError(y, expected);
        assertTrue(err <= TOLERANCE, file + ": max |ours - PyTorch| / max |PyTorch| = " + err);

        DfqRecipe floatDfq = DfqRecipe.builder().equalize(true).build();
        Network rewritten = floatDfq.floatPipeline().run(net).network();
        double change = relativeError(rewritten.output(x), y);
        assertTrue(change <= TOLERANCE, file + ": the float DFQ pipeline changed the output by " + change);
        System.out.printf(java.util.Locale.ROOT, "%s: relative error to PyTorch %.2e, float pipeline change %.2e%n",
                file, err, change);
    }

    /**
     * RegNet's grouped convolutions become dense kernels that are zero outside their groups' blocks;
     * equalization scales within the groups, so every zero stays exactly zero, and it does equalize.
     */
    @ParameterizedTest(name = "{0}")
    @org.junit.jupiter.params.provider.ValueSource(strings = {"regnet_x_400mf_op13_bnkept", "regnet_x_400mf_op17_bnfolded"})
    void equalizationKeepsGroupedConvolutionsGrouped(String file) throws IOException {
        Architecture a = architectures().stream().filter(r -> r.name().equals("regnet_x_400mf")).findFirst().orElseThrow();
        Network folded = DfqRecipe.builder().build().floatPipeline().run(read(file, a)).network();
        Network equalized = DfqRecipe.builder().equalize(true).build().floatPipeline().run(read(file, a)).network();
        GraphView before = GraphView.of(folded);
        GraphView after = GraphView.of(equalized);
        int grouped = 0;
        int changed = 0;
        for (WeightLayer l : before.weightLayers()) {
            INDArray w = before.constant(l.weights());
            INDArray equalizedW = after.constant(l.weights());
            INDArray zeros = w.eq(0).castTo(DataType.INT32);
            if (zeros.sumNumber().longValue() * 4 < w.length()) {
                continue; // not a grouped kernel
            }
            grouped++;
            assertTrue(equalizedW.mul(zeros.castTo(equalizedW.dataType())).amaxNumber().doubleValue() == 0,
                    l.output() + ": a weight outside the groups' blocks became nonzero");
            changed += w.equalsWithEps(equalizedW, 1e-6) ? 0 : 1;
        }
        assertTrue(grouped >= 3, "grouped convolutions found: " + grouped);
        assertTrue(changed >= 1, "equalization changed none of the " + grouped + " grouped convolutions");
    }
}
