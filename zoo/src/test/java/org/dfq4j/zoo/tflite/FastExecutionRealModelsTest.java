package org.dfq4j.zoo.tflite;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Locale;
import java.util.stream.Stream;
import org.dfq4j.rewrite.DfqRecipe;
import org.dfq4j.rewrite.execution.ChannelsLast;
import org.dfq4j.rewrite.graph.Network;
import org.dfq4j.rewrite.quant.QuantScheme;
import org.dfq4j.rewrite.quant.RangeSource;
import org.dfq4j.rewrite.quant.RangeSpec;
import org.dfq4j.rewrite.testing.SharedData;
import org.dfq4j.rewrite.view.GraphView;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Test;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;
import org.nd4j.linalg.indexing.NDArrayIndex;
import org.nd4j.linalg.ops.transforms.Transforms;

/**
 * The speed rewrites change no result on the real MobileNetV2 and the 200 dev photographs (skipped
 * without ../shared/data): its logits run channels-last from execution plans against the logits
 * SameDiff computes on the NCHW graph, for the float network (all 200 photographs) and for an 8-bit
 * network with ND4J's fake-quant ops (what eval and table run by default; 64 photographs).
 */
class FastExecutionRealModelsTest {

    private static Path shared(String relative) {
        var f = SharedData.file(relative);
        Assumptions.assumeTrue(f.isPresent(), SharedData.missing(relative));
        return f.get();
    }

    /** The input of the network's final softmax: the logits. */
    private static String logits(Network n) {
        GraphView g = GraphView.of(n);
        return g.inputs(g.producer(n.outputs().get(0))).get(0);
    }

    private static INDArray logitsOf(Network n, INDArray photos) {
        String v = logits(n);
        INDArray out = null;
        for (long from = 0; from < photos.size(0); from += 25) {
            INDArray part = n.run(photos.get(NDArrayIndex.interval(from, Math.min(photos.size(0), from + 25))),
                    List.of(v)).get(v);
            out = out == null ? part : Nd4j.concat(0, out, part);
        }
        return out;
    }

    private static void sameLogits(String what, Network net, INDArray photos) {
        Network asImported = net.copy();
        asImported.setPlanned(false);
        INDArray expected = logitsOf(asImported, photos);
        INDArray got = logitsOf(ChannelsLast.of(net).network(), photos);
        double diff = Transforms.abs(got.sub(expected)).maxNumber().doubleValue();
        double scale = Transforms.abs(expected).maxNumber().doubleValue();
        System.out.printf(Locale.ROOT, "%s: max |logit difference| %.3g over %d photographs (largest |logit| %.3g)%n",
                what, diff, photos.size(0), scale);
        assertTrue(diff <= 1e-5 * scale, what + ": max logit difference " + diff);
        for (int i = 0; i < photos.size(0); i++) {
            assertEquals(expected.getRow(i).argMax().getInt(0), got.getRow(i).argMax().getInt(0), what + " photo " + i);
        }
    }

    @Test
    void mobileNetV2LogitsAreUnchangedOnTheDevPhotographs() throws IOException {
        Network net = TfliteReader.read(shared("models/mobilenet_v2_1.0_224_ptq.tflite"));
        List<Path> files;
        try (Stream<Path> s = Files.list(shared("images/imagenet-dev"))) {
            files = s.sorted().toList();
        }
        INDArray photos = Photos.centreCropped(files, 224);
        sameLogits("MobileNetV2 FP32", net, photos);

        INDArray calibration = photos.get(NDArrayIndex.interval(0, 32)).dup();
        DfqRecipe recipe = DfqRecipe.builder().equalize(true).weights(QuantScheme.perTensor(8, false))
                .activationBits(8).activationRanges(RangeSpec.calibration()).calibrationImages(32).build();
        Network prepared = recipe.floatPipeline().run(net).network();
        Network w8a8 = recipe.quantPipeline(RangeSource.calibration(List.of(calibration)), List.of(calibration))
                .run(prepared).network();
        sameLogits("MobileNetV2 --equalize W8A8 (fake-quant ops)", w8a8,
                photos.get(NDArrayIndex.interval(0, 64)).dup());
    }
}
