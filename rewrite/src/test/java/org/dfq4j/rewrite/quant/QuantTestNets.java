package org.dfq4j.rewrite.quant;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;
import org.dfq4j.rewrite.graph.ChannelStats;
import org.dfq4j.rewrite.graph.Network;
import org.dfq4j.rewrite.graph.Padding;
import org.dfq4j.rewrite.graph.WeightLayer;
import org.dfq4j.rewrite.testing.SyntheticNets;
import org.dfq4j.rewrite.view.GraphView;
import org.nd4j.autodiff.samediff.SDVariable;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;

/** Seeded test networks whose weight layers carry statistics measured on a calibration batch. */
final class QuantTestNets {

    private QuantTestNets() {
    }

    /** A network and the batch its statistics were measured on. */
    record Calibrated(Network net, INDArray calibration) {

        /** The same network without the statistics of the given layers. */
        Calibrated withoutStats(String... layers) {
            Map<String, ChannelStats> stats = new LinkedHashMap<>(net.stats());
            for (String l : layers) {
                stats.remove(l);
            }
            Network n = Network.adopt(net.name(), net.sameDiff(), net.input(), net.inputShape(), net.outputs(),
                    net.recordedRanges(), stats, net.properties(), net.attachments());
            return new Calibrated(n, calibration);
        }
    }

    /**
     * input[3,8,8] -> c1 conv3x3 -> relu6 (r1) -> d1 depthwise3x3 -> relu -> per-channel minimum (clip)
     * -> c2 conv1x1 -> add with r1 (a1) -> c3 conv1x1 -> leakyrelu 0.1 (l3) -> concat [l3, a1] (cat)
     * -> global average pool -> fc dense 14->5.
     */
    static Calibrated residual(long seed) {
        SyntheticNets s = new SyntheticNets("residual", seed, 3, 8);
        var b = s.builder();
        SDVariable c1 = s.conv("c1", s.input(), 3, 3, 8, 1, Padding.SAME);
        SDVariable r1 = b.relu6("r1", c1);
        SDVariable d1 = s.depthwise("d1", r1, 3, 8, 1, 1, Padding.SAME);
        SDVariable d1r = b.relu("d1r", d1);
        INDArray clip = Nd4j.createFromArray(0.5f, 1f, 1.5f, 2f, 2.5f, 3f, 3.5f, 4f).reshape(1, 8, 1, 1);
        SDVariable d1c = b.sameDiff().math().min("d1c", d1r, b.constant("d1c/clip", clip));
        SDVariable c2 = s.conv("c2", d1c, 1, 8, 8, 1, Padding.SAME);
        SDVariable a1 = b.add("a1", c2, r1);
        SDVariable c3 = s.conv("c3", a1, 1, 8, 6, 1, Padding.SAME);
        SDVariable l3 = b.leakyRelu("l3", c3, 0.1);
        SDVariable cat = b.concat("cat", 1, l3, a1);
        SDVariable gap = b.globalAvgPool("gap", cat, false);
        s.dense("fc", gap, 14, 5);
        Network net = measureStats(b.build("fc"), s.calibration());
        return new Calibrated(net, s.calibration());
    }

    /** The network with every weight layer's statistics set to the per-channel mean and std of its output on the batch. */
    static Network measureStats(Network net, INDArray batch) {
        List<WeightLayer> layers = GraphView.of(net).weightLayers();
        List<String> outs = new ArrayList<>();
        layers.forEach(l -> outs.add(l.output()));
        Map<String, INDArray> r = net.run(batch, outs);
        Map<String, ChannelStats> stats = new LinkedHashMap<>();
        for (String o : outs) {
            INDArray y = r.get(o);
            int[] axes = y.rank() == 4 ? new int[] {0, 2, 3} : new int[] {0};
            stats.put(o, new ChannelStats(y.mean(axes).toDoubleVector(), y.std(false, axes).toDoubleVector()));
        }
        return net.withStats(stats);
    }

    /** Standard normal images [n,c,h,w] from a seed. */
    static INDArray images(long seed, int n, int c, int h, int w) {
        Random r = new Random(seed);
        float[] v = new float[n * c * h * w];
        for (int i = 0; i < v.length; i++) {
            v[i] = (float) r.nextGaussian();
        }
        return Nd4j.create(v, new long[] {n, c, h, w}, 'c');
    }
}
