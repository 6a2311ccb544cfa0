package org.dfq4j.zoo.mobilenet;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;
import org.dfq4j.rewrite.engine.GraphEditor;
import org.dfq4j.rewrite.graph.Network;
import org.dfq4j.rewrite.graph.NetworkBuilder;
import org.dfq4j.rewrite.graph.Padding;
import org.dfq4j.rewrite.view.GraphView;
import org.nd4j.autodiff.samediff.SDVariable;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;
import org.nd4j.linalg.indexing.NDArrayIndex;

/**
 * MobileNetV2 (Sandler et al. 2018) built natively in SameDiff with separate BatchNorm and ReLU6 ops,
 * at any width multiplier and input size, with any weights.
 *
 * <p>{@link #synthetic} gives deterministic weights shaped like a trained, BN-folded network where it
 * matters for quantization: BatchNorm scales (gamma) spread log-normally over about two orders of
 * magnitude per layer, so that after folding the per-channel weight ranges are as unbalanced as those
 * of real depthwise layers; and BatchNorm statistics calibrated on generated images, so every layer's
 * pre-activation is ~N(beta, gamma^2) and the output depends on the input (an uncalibrated random
 * network saturates and ignores it).
 */
public final class MobileNetV2Builder {

    /** Inverted-residual settings: expansion t, output channels c, repeats n, first stride s. */
    private static final int[][] BLOCKS = {
        {1, 16, 1, 1}, {6, 24, 2, 2}, {6, 32, 3, 2}, {6, 64, 4, 2}, {6, 96, 3, 1}, {6, 160, 3, 2}, {6, 320, 1, 1},
    };

    /**
     * The shape of a generated network: BatchNorm gamma spread (log-normal sigma) and median, the gain of each
     * residual branch (1: as large as its input stream), and the spread of the per-channel scales
     * moved between each 1x1 expansion and the depthwise layer after it (log10 of the largest; 0: none).
     */
    private record Style(double gammaSpread, double gammaScale, double residualGain, double imbalanceDecades,
                         int[][] blocks) {
    }

    /** {@link #synthetic}: wide gamma spread, full residual branches, the published block list. */
    private static final Style SYNTHETIC = new Style(0.8, 0.6, 1.0, 0, BLOCKS);

    /**
     * {@link #trainedLike}: the first four stages of MobileNetV2 with one block fewer per stage, mild
     * gamma spread around 0.4 (so that ReLU6 almost never clips, as in trained networks), residual branches at a fifth of their stream, and per-channel scales of up to three
     * decades moved from each depthwise layer into the expansion before it.
     */
    private static final Style TRAINED_LIKE = new Style(0.3, 0.4, 0.2, 3,
            new int[][] {{1, 16, 1, 1}, {6, 24, 2, 2}, {6, 32, 2, 2}, {6, 64, 3, 2}});

    private final double width;
    private final int resolution;
    private final int classes;
    private final long seed;
    private final double gammaSpread;
    private final Style style;

    private MobileNetV2Builder(double width, int resolution, int classes, long seed, Style style) {
        if (width <= 0 || resolution < 32 || classes < 2) {
            throw new IllegalArgumentException("MobileNetV2: width > 0, resolution >= 32 and classes >= 2 required");
        }
        this.width = width;
        this.resolution = resolution;
        this.classes = classes;
        this.seed = seed;
        this.gammaSpread = style.gammaSpread();
        this.style = style;
    }

    /**
     * A synthetic MobileNetV2 with calibrated BatchNorm statistics.
     *
     * @param width       width multiplier (1.0 = the published network)
     * @param resolution  input height and width
     * @param classes     number of outputs
     * @param seed        weights are a pure function of the seed
     */
    public static Network synthetic(double width, int resolution, int classes, long seed) {
        return new MobileNetV2Builder(width, resolution, classes, seed, SYNTHETIC).build();
    }

    /**
     * A generated MobileNetV2-like network that behaves, under quantization, like a trained one: it
     * is contractive (each residual branch adds a fifth of its stream, so a small perturbation of
     * the weights stays small at the logits, where a random deep network amplifies it), and its
     * BatchNorm-folded weights are as unbalanced as a trained MobileNet's: each expansion's output
     * channel c is scaled by 1/s_c and the depthwise kernel of channel c by s_c, s log-uniform over
     * three decades. The float function barely changes (ReLU6 only meets values below 6 more often),
     * but per-tensor 8-bit weights round the small channels of each layer away, as in the paper's
     * MobileNetV2; equalization, which finds exactly these scales, and per-channel weights undo it.
     * BatchNorm statistics are calibrated on generated images.
     */
    public static Network trainedLike(double width, int resolution, int classes, long seed) {
        return new MobileNetV2Builder(width, resolution, classes, seed, TRAINED_LIKE).build();
    }

    /** Channel count rounded as in the reference implementation (multiple of 8, at most 10% below). */
    static int divisible(double v) {
        int r = Math.max(8, (int) (v + 4) / 8 * 8);
        return r < 0.9 * v ? r + 8 : r;
    }

    private Network build() {
        Random rnd = new Random(seed);
        NetworkBuilder b = new NetworkBuilder(String.format("mobilenet_v2_%.2f_%d_synthetic", width, resolution),
                3, resolution, resolution);
        List<String[]> bns = new ArrayList<>();
        SDVariable features = features(b, rnd, bns);
        long last = headChannels();
        SDVariable pooled = b.globalAvgPool("pool", features, false);
        INDArray fcW = gaussian(rnd, 1.0 / Math.sqrt(last), last, classes);
        b.softmax("probabilities", b.dense("logits", pooled, fcW, gaussian(rnd, 0.1, classes)));
        Network net = calibrate(b.build("logits"), bns, rnd.nextLong());
        net = unbalance(net, new Random(seed ^ 0x5DEECE66DL));
        net = standardizeClassifier(net, pooled.name(), rnd.nextLong());
        Map<String, String> properties = new LinkedHashMap<>();
        properties.put("format", "builtin");
        properties.put("source", "MobileNetV2 builder, width " + width + ", seed " + seed);
        return net.withProperties(properties);
    }

    private int headChannels() {
        return width > 1.0 ? divisible(1280 * width) : 1280;
    }

    /** Stem, inverted-residual blocks and the 1x1 head conv: everything before pooling. */
    private SDVariable features(NetworkBuilder b, Random rnd, List<String[]> bns) {
        int in = divisible(32 * width);
        SDVariable x = convBnRelu6(b, rnd, bns, "stem", b.input(), 3, in, 3, 2, true);
        int block = 0;
        for (int[] s : style.blocks()) {
            int out = divisible(s[1] * width);
            for (int i = 0; i < s[2]; i++) {
                int stride = i == 0 ? s[3] : 1;
                String p = "block" + (block++);
                int hidden = in * s[0];
                SDVariable h = x;
                if (s[0] != 1) {
                    h = convBnRelu6(b, rnd, bns, p + "/expand", h, in, hidden, 1, 1, true);
                }
                h = depthwiseBnRelu6(b, rnd, bns, p + "/depthwise", h, hidden, stride);
                boolean residual = stride == 1 && in == out;
                h = convBnRelu6(b, rnd, bns, p + "/project", h, hidden, out, 1, 1, false,
                        residual ? style.residualGain() : 1);
                x = residual ? b.add(p + "/add", x, h) : h;
                in = out;
            }
        }
        return convBnRelu6(b, rnd, bns, "head", x, in, headChannels(), 1, 1, true);
    }

    private SDVariable convBnRelu6(NetworkBuilder b, Random rnd, List<String[]> bns, String name, SDVariable x,
                                   int in, int out, int k, int stride, boolean relu6) {
        return convBnRelu6(b, rnd, bns, name, x, in, out, k, stride, relu6, 1);
    }

    private SDVariable convBnRelu6(NetworkBuilder b, Random rnd, List<String[]> bns, String name, SDVariable x,
                                   int in, int out, int k, int stride, boolean relu6, double gain) {
        INDArray w = gaussian(rnd, Math.sqrt(2.0 / (k * k * in)), k, k, in, out);
        SDVariable c = b.conv2d(name, x, w, null, stride, stride, Padding.SAME, 1, 1);
        return bnAct(b, rnd, bns, name, c, out, relu6, gammaSpread / 2, gain);
    }

    private SDVariable depthwiseBnRelu6(NetworkBuilder b, Random rnd, List<String[]> bns, String name, SDVariable x,
                                        int channels, int stride) {
        INDArray w = gaussian(rnd, Math.sqrt(2.0 / 9), 3, 3, channels, 1);
        SDVariable c = b.depthwiseConv2d(name, x, w, null, stride, stride, Padding.SAME, 1, 1);
        return bnAct(b, rnd, bns, name, c, channels, true, gammaSpread, 1);
    }

    /**
     * BatchNorm with log-normally spread gamma (the source of the per-channel imbalance after folding;
     * depthwise layers get the widest spread, as in trained MobileNets)
     * and beta around +gamma/2 so that most ReLU6 units are active; mean/var are placeholders until
     * {@link #calibrate}.
     */
    private SDVariable bnAct(NetworkBuilder b, Random rnd, List<String[]> bns, String name, SDVariable c, int ch,
                             boolean relu6, double spread, double gain) {
        float[] gamma = new float[ch];
        float[] beta = new float[ch];
        for (int i = 0; i < ch; i++) {
            gamma[i] = (float) (style.gammaScale() * Math.exp(spread * rnd.nextGaussian()));
            beta[i] = (float) (gain * gamma[i] * (0.5 + 0.5 * rnd.nextGaussian()));
            gamma[i] *= (float) gain;
        }
        SDVariable bn = b.batchNorm(name + "/bn", c, Nd4j.zeros(DataType.FLOAT, ch), Nd4j.ones(DataType.FLOAT, ch),
                Nd4j.createFromArray(gamma), Nd4j.createFromArray(beta), 1e-3);
        bns.add(new String[] {c.name(), name + "/bn"});
        return relu6 ? b.relu6(name + "/relu6", bn) : bn;
    }

    /**
     * Sets each BatchNorm's mean and variance to the statistics of its input on generated images, in
     * order. BN statistics do not depend on the resolution, so a copy of the feature extractor at a
     * small resolution (same seed, same weights) is calibrated and its statistics copied over.
     */
    private Network calibrate(Network net, List<String[]> bns, long imageSeed) {
        int res = Math.min(resolution, 64);
        NetworkBuilder cb = new NetworkBuilder("calibration", 3, res, res);
        SDVariable features = new MobileNetV2Builder(width, res, classes, seed, style)
                .features(cb, new Random(seed), new ArrayList<>());
        GraphEditor small = new GraphEditor(cb.build(features.name()));
        GraphEditor big = new GraphEditor(net);
        INDArray images = SyntheticImages.generate(6, 3, res, res, imageSeed);
        for (String[] p : bns) {
            INDArray pre = small.network().run(images, List.of(p[0])).get(p[0]);
            INDArray mean = pre.mean(0, 2, 3).castTo(DataType.FLOAT);
            INDArray var = pre.var(false, 0, 2, 3).castTo(DataType.FLOAT);
            for (GraphEditor e : List.of(small, big)) {
                e.setConstant(p[1] + "/mean", mean);
                e.setConstant(p[1] + "/var", var);
            }
        }
        return big.network();
    }

    /**
     * Moves per-channel scales s_c (log-uniform over the style's decades) from each depthwise layer
     * into the layer before it: that layer's BatchNorm gamma and beta are divided by s_c (its output
     * channel c shrinks; ReLU6 of a smaller value clips no more often) and the depthwise kernel of
     * channel c is multiplied by s_c, so the depthwise pre-activation, and its calibrated BatchNorm
     * statistics, are unchanged.
     */
    private Network unbalance(Network net, Random rnd) {
        if (style.imbalanceDecades() <= 0) {
            return net;
        }
        GraphEditor e = new GraphEditor(net);
        String before = "stem";
        for (int block = 0; e.view().hasVariable("block" + block + "/depthwise/W"); block++) {
            String p = "block" + block;
            GraphView g = e.view();
            String producer = g.hasVariable(p + "/expand/bn/gamma") ? p + "/expand" : before;
            INDArray gamma = g.constant(producer + "/bn/gamma");
            INDArray beta = g.constant(producer + "/bn/beta");
            INDArray w = g.constant(p + "/depthwise/W");
            for (int c = 0; c < gamma.length(); c++) {
                double s = Math.pow(10, style.imbalanceDecades() * rnd.nextDouble());
                gamma.putScalar(c, gamma.getDouble(c) / s);
                beta.putScalar(c, beta.getDouble(c) / s);
                w.get(NDArrayIndex.all(), NDArrayIndex.all(), NDArrayIndex.point(c), NDArrayIndex.all()).muli(s);
            }
            e.setConstant(producer + "/bn/gamma", gamma);
            e.setConstant(producer + "/bn/beta", beta);
            e.setConstant(p + "/depthwise/W", w);
            before = p + "/project";
        }
        return e.network();
    }

    /**
     * Centres the classifier on the features of generated images and scales it so the logits have a
     * standard deviation of about 2 across images: b' = b - W'^T mean(f), W' = c W. Without the
     * centring the logits are dominated by the features' common mean and every input gets the same
     * class. The scale is global, not per feature: dividing by each feature's spread would amplify
     * near-constant features (and their quantization noise) without bound.
     */
    private Network standardizeClassifier(Network net, String pooled, long imageSeed) {
        INDArray images = SyntheticImages.generate(8, 3, resolution, resolution, imageSeed);
        INDArray f = net.run(images, List.of(pooled)).get(pooled);
        GraphEditor e = new GraphEditor(net);
        INDArray w = e.view().constant("logits/W");
        INDArray centred = f.subRowVector(f.mean(0));
        double spread = centred.mmul(w).std(false, 0).meanNumber().doubleValue();
        w = w.mul(2.0 / Math.max(spread, 1e-6));
        INDArray bias = e.view().constant("logits/b").sub(f.mean(0).reshape(1, f.size(1)).mmul(w).reshape(classes));
        e.setConstant("logits/W", w.castTo(DataType.FLOAT));
        e.setConstant("logits/b", bias.castTo(DataType.FLOAT));
        return e.network();
    }

    private static INDArray gaussian(Random rnd, double std, long... shape) {
        long n = 1;
        for (long s : shape) {
            n *= s;
        }
        float[] v = new float[(int) n];
        for (int i = 0; i < v.length; i++) {
            v[i] = (float) (std * rnd.nextGaussian());
        }
        return Nd4j.createFromArray(v).reshape(shape);
    }
}
