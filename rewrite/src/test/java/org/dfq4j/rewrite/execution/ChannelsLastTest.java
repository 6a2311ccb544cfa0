package org.dfq4j.rewrite.execution;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import org.dfq4j.rewrite.DfqException;
import org.dfq4j.rewrite.engine.Pipeline;
import org.dfq4j.rewrite.graph.Network;
import org.dfq4j.rewrite.graph.NetworkBuilder;
import org.dfq4j.rewrite.graph.NetworkFile;
import org.dfq4j.rewrite.graph.OpKind;
import org.dfq4j.rewrite.graph.Padding;
import org.dfq4j.rewrite.graph.WeightLayer;
import org.dfq4j.rewrite.testing.OpCounts;
import org.dfq4j.rewrite.testing.Snapshots;
import org.dfq4j.rewrite.testing.SyntheticMobileNetV2;
import org.dfq4j.rewrite.testing.SyntheticNets;
import org.dfq4j.rewrite.view.GraphView;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.nd4j.autodiff.samediff.SDVariable;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;

/** Channels-last execution computes what the NCHW network computes, with no permutes between layers. */
class ChannelsLastTest {

    /**
     * conv (stride 2, SAME) -> BN -> relu6 -> depthwise after an asymmetric zero pad -> relu -> per-channel
     * clip min(x, t[1,C,1,1]) -> max pool | avg pool -> concat -> conv 1x1 -> add residual -> leaky relu
     * -> kept-dims mean -> flatten -> dense -> softmax.
     */
    private static SyntheticNets everyKind() {
        SyntheticNets s = new SyntheticNets("kinds", 11, 3, 12);
        NetworkBuilder b = s.builder();
        SDVariable x = b.relu6("r1", s.calibratedBatchNorm("bn1", s.conv("c1", s.input(), 3, 3, 8, 2, Padding.SAME)));
        x = b.relu("r2", s.depthwise("d1", x, 3, 8, 1, 1, Padding.explicit(0, 1, 1, 0)));
        INDArray t = Nd4j.createFromArray(0.5f, 1f, 1.5f, 2f, 2.5f, 3f, 3.5f, 4f).reshape(1, 8, 1, 1);
        x = b.sameDiff().math().min("clip", x, b.constant("clip/t", t));
        SDVariable pooled = b.concat("cat", 1, b.maxPool("mp", x, 2, 2, 1, 1, Padding.SAME),
                b.avgPool("ap", x, 3, 3, 1, 1, Padding.SAME));
        SDVariable c2 = s.conv("c2", pooled, 1, 16, 8, 1, Padding.VALID);
        x = b.leakyRelu("l2", b.add("res", c2, x), 0.1);
        SDVariable flat = b.reshape("flat", b.globalAvgPool("gap", x, true), -1, 8);
        b.softmax("prob", s.dense("fc", flat, 8, 5));
        return s;
    }

    private static void assertSameOutputs(Network expected, Network actual, INDArray batch, double tolerance) {
        Map<String, INDArray> e = expected.run(batch);
        Map<String, INDArray> a = actual.run(batch);
        assertEquals(expected.outputs().size(), actual.outputs().size());
        for (int i = 0; i < expected.outputs().size(); i++) {
            INDArray x = e.get(expected.outputs().get(i));
            INDArray y = a.get(actual.outputs().get(i));
            assertArrayEquals(x.shape(), y.shape(), "output " + i + " keeps its NCHW shape");
            double err = SyntheticNets.relativeError(y, x);
            assertTrue(err <= tolerance, "output " + i + " relative error " + err);
        }
    }

    private static long permutes(Network n) {
        return OpCounts.of(n).getOrDefault(OpKind.PERMUTE, 0);
    }

    @Test
    void everyKindOfLayerRunsChannelsLastAndComputesTheSame() {
        SyntheticNets s = everyKind();
        Network net = s.builder().build("prob");
        Network before = net.copy();
        ChannelsLast.Converted c = ChannelsLast.of(net);

        assertSameOutputs(net, c.network(), s.calibration(), 1e-5);
        assertTrue(c.boundaries().isEmpty(), c.describe());
        assertEquals(1, c.permutes(), "one permute, of the input");
        assertEquals(1, permutes(c.network()));
        for (WeightLayer l : GraphView.of(c.network()).weightLayers()) {
            if (l.kind() != WeightLayer.Kind.DENSE) {
                assertTrue(GraphView.of(c.network()).attributes(l.op()).convolution().orElseThrow().isNHWC(),
                        l.op() + " runs NHWC");
            }
        }
        assertTrue(c.network().isChannelsLast() && !net.isChannelsLast());
        DfqException refused = assertThrows(DfqException.class, () -> Pipeline.of().run(c.network()));
        assertTrue(refused.getMessage().contains("channels-last"), refused.getMessage());
        Snapshots.assertSameConstants(before, net);
        assertEquals(GraphView.of(before).ops(), GraphView.of(net).ops(), "the network itself is not changed");
    }

    @Test
    void aConvertedNetworkSavesAndLoadsWithIdenticalOutputs(@TempDir Path dir) {
        SyntheticNets s = everyKind();
        Network converted = ChannelsLast.of(s.builder().build("prob")).network();
        Path f = dir.resolve("cl" + NetworkFile.EXTENSION);
        NetworkFile.save(converted, f);
        Network loaded = NetworkFile.load(f);
        assertEquals(converted.output(s.calibration()), loaded.output(s.calibration()));
        assertTrue(loaded.isChannelsLast());
        assertEquals(0, ChannelsLast.of(loaded).convertedOps(), "converting twice changes nothing");
    }

    @Test
    void aChannelsLastFlattenOfTfliteReadsTheTensorAsItIs() {
        // TFLite's flatten reads NHWC order, so NCHW graphs permute before it: channels-last, that
        // permute is the identity and goes
        SyntheticNets s = new SyntheticNets("flatten", 12, 3, 6);
        NetworkBuilder b = s.builder();
        SDVariable c = b.relu("r", s.conv("c", s.input(), 3, 3, 4, 1, Padding.SAME));
        SDVariable flat = b.flatten("flat", b.permute("nhwc", c, 0, 2, 3, 1), 6 * 6 * 4);
        s.dense("fc", flat, 144, 3);
        Network net = b.build("fc");
        ChannelsLast.Converted cl = ChannelsLast.of(net);
        assertSameOutputs(net, cl.network(), s.calibration(), 1e-6);
        assertEquals(1, permutes(cl.network()), "only the input's permute is left");
    }

    @Test
    void whatCannotRunChannelsLastReadsNchwAgainAndImageOutputsComeBackNchw() {
        // a bilinear resize (reshapes of a full image) and a network ending in a convolution
        SyntheticNets s = new SyntheticNets("boundary", 13, 3, 8);
        NetworkBuilder b = s.builder();
        SDVariable c = b.relu6("r", s.conv("c", s.input(), 3, 3, 5, 1, Padding.SAME));
        SDVariable up = b.resizeBilinear("up", c, 5, 8, 8, 16, 16, false, true);
        s.conv("head", up, 1, 5, 2, 1, Padding.VALID);
        Network net = b.build("head");
        ChannelsLast.Converted cl = ChannelsLast.of(net);
        assertSameOutputs(net, cl.network(), s.calibration(), 1e-5);
        assertFalse(cl.boundaries().isEmpty(), cl.describe());
        assertEquals(4, cl.permutes(), "the input's, back to NCHW before the resize, channels-last again for the "
                + "head, and the head's output back to NCHW: " + cl.describe());
        INDArray out = cl.network().output(s.calibration());
        assertArrayEquals(new long[] {8, 2, 16, 16}, out.shape());
    }

    @Test
    void mobileNetV2RunsChannelsLastEndToEnd() {
        SyntheticNets s = new SyntheticNets("mnv2", 14, 3, 32);
        Network net = SyntheticMobileNetV2.build(s, 10);
        ChannelsLast.Converted cl = ChannelsLast.of(net);
        assertSameOutputs(net, cl.network(), s.calibration(), 1e-4);
        assertTrue(cl.boundaries().isEmpty(), cl.describe());
        assertEquals(1, permutes(cl.network()));
        assertEquals(GraphView.of(net).ops().size() + 1, GraphView.of(cl.network()).ops().size(),
                "the same ops plus the input's permute");
        assertEquals(List.of(), GraphView.of(cl.network()).problems());
    }
}
