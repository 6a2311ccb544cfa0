package org.dfq4j.rewrite.testing;

import org.dfq4j.rewrite.graph.Network;
import org.dfq4j.rewrite.graph.NetworkBuilder;
import org.dfq4j.rewrite.graph.Padding;
import org.nd4j.autodiff.samediff.SDVariable;

/**
 * MobileNetV2's layer structure (53 weight layers: stem, 17 inverted residual blocks, 1x1 conv to 1280,
 * classifier) with seeded weights, on a small input. BatchNorm statistics are plausible but not
 * calibrated (calibrating 52 BatchNorms takes a forward pass each): for structure, exactness of
 * exact rewrites and timing, not for accuracy.
 * Every conv is followed by BN; expand and depthwise convs by ReLU6; projections have no activation
 * and add a residual when stride 1 keeps the width.
 */
public final class SyntheticMobileNetV2 {

    private static final int[][] BLOCKS = {
        // expansion t, channels c, repeats n, stride s
        {1, 16, 1, 1}, {6, 24, 2, 2}, {6, 32, 3, 2}, {6, 64, 4, 2}, {6, 96, 3, 1}, {6, 160, 3, 2}, {6, 320, 1, 1},
    };

    private SyntheticMobileNetV2() {
    }

    /** The network with input [3, size, size] and output "logits"; its calibration batch is in {@code nets}. */
    public static Network build(SyntheticNets nets, int classes) {
        NetworkBuilder b = nets.builder();
        SDVariable x = b.relu6("stem/relu6", nets.uncalibratedBatchNorm("stem/bn",
                nets.conv("stem", nets.input(), 3, 3, 32, 2, Padding.SAME), 32));
        int in = 32;
        int block = 0;
        for (int[] cfg : BLOCKS) {
            for (int r = 0; r < cfg[2]; r++) {
                int stride = r == 0 ? cfg[3] : 1;
                String p = "block" + block++;
                SDVariable h = x;
                int hidden = in * cfg[0];
                if (cfg[0] != 1) {
                    h = b.relu6(p + "/expand/relu6", nets.uncalibratedBatchNorm(p + "/expand/bn",
                            nets.conv(p + "/expand", h, 1, in, hidden, 1, Padding.VALID), hidden));
                }
                h = b.relu6(p + "/dw/relu6", nets.uncalibratedBatchNorm(p + "/dw/bn",
                        nets.depthwise(p + "/dw", h, 3, hidden, 1, stride, Padding.SAME), hidden));
                h = nets.uncalibratedBatchNorm(p + "/project/bn", nets.conv(p + "/project", h, 1, hidden, cfg[1], 1,
                        Padding.VALID), cfg[1]);
                x = stride == 1 && in == cfg[1] ? b.add(p + "/add", x, h) : h;
                in = cfg[1];
            }
        }
        x = b.relu6("head/relu6", nets.uncalibratedBatchNorm("head/bn", nets.conv("head", x, 1, in, 1280, 1,
                Padding.VALID), 1280));
        nets.dense("logits", b.globalAvgPool("gap", x, false), 1280, classes);
        return b.build("logits");
    }
}
