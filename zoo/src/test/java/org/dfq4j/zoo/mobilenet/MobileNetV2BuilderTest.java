package org.dfq4j.zoo.mobilenet;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.HashSet;
import java.util.List;
import java.util.Set;
import org.dfq4j.rewrite.graph.OpKind;
import org.dfq4j.rewrite.graph.Network;
import org.dfq4j.rewrite.graph.WeightLayer;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.nd4j.autodiff.samediff.SameDiff;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.ops.transforms.Transforms;

class MobileNetV2BuilderTest {

    private static Network net;
    private static INDArray images;

    @BeforeAll
    static void build() {
        net = MobileNetV2Builder.synthetic(0.35, 96, 10, 7);
        images = SyntheticImages.generate(12, 3, 96, 96, 99);
    }

    @Test
    void hasTheMobileNetV2Topology() {
        List<WeightLayer> layers = org.dfq4j.rewrite.view.GraphView.of(net).weightLayers();
        // stem + 17 blocks (16 with expansion: 3 layers, the first: 2) + head + classifier
        assertEquals(1 + 16 * 3 + 2 + 1 + 1, layers.size());
        long depthwise = layers.stream().filter(l -> l.kind() == WeightLayer.Kind.DEPTHWISE).count();
        assertEquals(17, depthwise);
        long adds = net.sameDiff().getOps().values().stream().filter(o -> OpKind.of(o) == OpKind.ADD).count();
        assertEquals(10, adds, "residual connections");
        assertArrayEquals(new long[] {12, 10}, net.output(images).shape());
    }

    @Test
    void isAPureFunctionOfTheSeed() {
        Network again = MobileNetV2Builder.synthetic(0.35, 96, 10, 7);
        assertEquals(net.output(images), again.output(images));
    }

    @Test
    void outputDependsOnTheInput() {
        INDArray logits = net.output(images);
        Set<Long> classes = new HashSet<>();
        for (long c : logits.argMax(1).toLongVector()) {
            classes.add(c);
        }
        assertTrue(classes.size() >= 4, "argmax over 12 generated images hits only " + classes);
        double spreadAcrossImages = logits.std(false, 0).meanNumber().doubleValue();
        assertTrue(spreadAcrossImages > 0.5, "logits barely vary across images: " + spreadAcrossImages);
    }

    @Test
    void batchNormStatisticsAreCalibrated() {
        // After a calibrated BN the pre-activation is ~N(beta, gamma^2) per channel on fresh images.
        SameDiff sd = net.sameDiff();
        for (String bn : List.of("block3/expand/bn", "block8/depthwise/bn", "head/bn")) {
            INDArray out = net.run(images, List.of(bn)).get(bn);
            INDArray mean = out.mean(0, 2, 3);
            INDArray std = out.std(false, 0, 2, 3);
            INDArray beta = sd.getArrForVarName(bn + "/beta");
            INDArray gamma = Transforms.abs(sd.getArrForVarName(bn + "/gamma"));
            double meanErr = Transforms.abs(mean.sub(beta)).div(gamma).meanNumber().doubleValue();
            double stdRatio = std.div(gamma).medianNumber().doubleValue();
            assertTrue(meanErr < 0.5, bn + ": channel means are " + meanErr + " gammas away from beta");
            assertTrue(stdRatio > 0.5 && stdRatio < 1.5, bn + ": std/gamma median " + stdRatio);
        }
    }

    @Test
    void foldedDepthwiseRangesAreUnbalanced() {
        // Range of output channel c after folding: max|W_c| * |gamma_c| / sqrt(var_c + eps).
        SameDiff sd = net.sameDiff();
        INDArray w = sd.getArrForVarName("block8/depthwise/W");
        INDArray perChannel = Transforms.abs(w).max(0, 1, 3);
        INDArray scale = Transforms.abs(sd.getArrForVarName("block8/depthwise/bn/gamma"))
                .div(Transforms.sqrt(sd.getArrForVarName("block8/depthwise/bn/var").add(1e-3)));
        INDArray folded = perChannel.mul(scale);
        double ratio = folded.maxNumber().doubleValue() / folded.minNumber().doubleValue();
        assertTrue(ratio > 20, "folded per-channel range ratio only " + ratio);
    }

    /**
     * trainedLike moves scales of up to three decades between each expansion and its depthwise layer:
     * the folded ranges of both are that unbalanced, their per-channel product is not (the scales
     * cancel), and the network still tells its inputs apart.
     */
    @Test
    void trainedLikeIsUnbalancedWhereEqualizationCanUndoIt() {
        Network t = MobileNetV2Builder.trainedLike(0.5, 64, 10, 3);
        SameDiff sd = t.sameDiff();
        String p = "block2";
        INDArray expand = Transforms.abs(sd.getArrForVarName(p + "/expand/W")).max(0, 1, 2)
                .mul(foldScale(sd, p + "/expand/bn"));
        INDArray depthwise = Transforms.abs(sd.getArrForVarName(p + "/depthwise/W")).max(0, 1, 3)
                .mul(foldScale(sd, p + "/depthwise/bn"));
        assertTrue(ratio(expand) > 100, "expansion ranges spread only " + ratio(expand));
        assertTrue(ratio(depthwise) > 100, "depthwise ranges spread only " + ratio(depthwise));
        assertTrue(ratio(expand.mul(depthwise)) < ratio(expand) / 10, "the scales do not cancel in the product");
        INDArray logits = t.output(SyntheticImages.generate(8, 3, 64, 64, 5));
        assertTrue(logits.std(false, 0).meanNumber().doubleValue() > 0.5, "logits barely vary across images");
    }

    private static INDArray foldScale(SameDiff sd, String bn) {
        return Transforms.abs(sd.getArrForVarName(bn + "/gamma"))
                .div(Transforms.sqrt(sd.getArrForVarName(bn + "/var").add(1e-3)));
    }

    private static double ratio(INDArray r) {
        return r.maxNumber().doubleValue() / r.minNumber().doubleValue();
    }
}
