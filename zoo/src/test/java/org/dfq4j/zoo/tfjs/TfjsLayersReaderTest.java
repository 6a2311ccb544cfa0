package org.dfq4j.zoo.tfjs;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Path;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.Random;
import org.dfq4j.rewrite.testing.OpCounts;
import org.dfq4j.rewrite.graph.Network;
import org.dfq4j.rewrite.graph.NetworkBuilder;
import org.dfq4j.rewrite.graph.Padding;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.nd4j.autodiff.samediff.SDVariable;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;
import com.fasterxml.jackson.databind.node.ObjectNode;

class TfjsLayersReaderTest {

    private final Random rnd = new Random(42);

    @TempDir
    Path dir;

    private INDArray random(double lo, double hi, long... shape) {
        int n = (int) Arrays.stream(shape).reduce(1, (a, b) -> a * b);
        float[] v = new float[n];
        for (int i = 0; i < n; i++) {
            v[i] = (float) (lo + (hi - lo) * rnd.nextDouble());
        }
        return Nd4j.create(v, shape, 'c');
    }

    /**
     * input 9x9x3 -> Conv2D 3x3 same (bias) -> BN (center only) -> LeakyReLU -> MaxPool 2/2 same ->
     * ZeroPadding ((1,0),(0,1)) -> DepthwiseConv2D 3x3 x2 valid relu -> Conv2D 1x1 relu6 (no bias);
     * Add(depthwise, conv) -> Concatenate(add, depthwise) -> GAP -> Dense softmax.
     */
    @Test
    void functionalModelMatchesTheSameNetworkBuiltDirectly() throws Exception {
        INDArray k1 = random(-0.5, 0.5, 3, 3, 3, 4);
        INDArray b1 = random(-0.2, 0.2, 4);
        INDArray beta = random(-0.3, 0.3, 4);
        INDArray mean = random(-0.3, 0.3, 4);
        INDArray var = random(0.5, 1.5, 4);
        INDArray kd = random(-0.5, 0.5, 3, 3, 4, 2);
        INDArray bd = random(-0.2, 0.2, 8);
        INDArray k2 = random(-0.5, 0.5, 1, 1, 8, 8);
        INDArray kf = random(-0.5, 0.5, 16, 5);
        INDArray bf = random(-0.2, 0.2, 5);

        KerasModelWriter m = KerasModelWriter.functional(9, 9, 3);
        ObjectNode c = m.layer("Conv2D", "conv2d_1", "input_1");
        c.put("filters", 4).put("padding", "same").put("activation", "linear").put("use_bias", true)
                .put("data_format", "channels_last");
        c.putArray("kernel_size").add(3).add(3);
        c.putArray("strides").add(1).add(1);
        c.putArray("dilation_rate").add(1).add(1);
        m.weight("conv2d_1/kernel", k1);
        m.weight("conv2d_1/bias", b1);
        m.layer("BatchNormalization", "batch_normalization_1", "conv2d_1").put("axis", -1).put("epsilon", 1e-3)
                .put("center", true).put("scale", false);
        m.weight("batch_normalization_1/beta", beta);
        m.weight("batch_normalization_1/moving_mean", mean);
        m.weight("batch_normalization_1/moving_variance", var);
        m.layer("LeakyReLU", "leaky_re_lu_1", "batch_normalization_1").put("alpha", 0.1);
        ObjectNode p = m.layer("MaxPooling2D", "max_pooling2d_1", "leaky_re_lu_1").put("padding", "same");
        p.putArray("pool_size").add(2).add(2);
        p.putArray("strides").add(2).add(2);
        ObjectNode z = m.layer("ZeroPadding2D", "zero_padding2d_1", "max_pooling2d_1");
        var pad = z.putArray("padding");
        pad.addArray().add(1).add(0);
        pad.addArray().add(0).add(1);
        ObjectNode d = m.layer("DepthwiseConv2D", "depthwise_conv2d_1", "zero_padding2d_1");
        d.put("depth_multiplier", 2).put("padding", "valid").put("activation", "relu").put("use_bias", true);
        d.putArray("kernel_size").add(3).add(3);
        m.weight("depthwise_conv2d_1/depthwise_kernel", kd);
        m.weight("depthwise_conv2d_1/bias", bd);
        ObjectNode c2 = m.layer("Conv2D", "conv2d_2", "depthwise_conv2d_1");
        c2.put("filters", 8).put("padding", "same").put("activation", "relu6").put("use_bias", false);
        c2.putArray("kernel_size").add(1).add(1);
        m.weight("conv2d_2/kernel", k2);
        m.layer("Add", "add_1", "depthwise_conv2d_1", "conv2d_2");
        m.layer("Concatenate", "concatenate_1", "add_1", "depthwise_conv2d_1").put("axis", -1);
        m.layer("GlobalAveragePooling2D", "global_average_pooling2d_1", "concatenate_1");
        m.layer("Dropout", "dropout_1", "global_average_pooling2d_1").put("rate", 0.5);
        m.layer("Dense", "dense_1", "dropout_1").put("units", 5).put("activation", "softmax").put("use_bias", true);
        m.weight("dense_1/kernel", kf);
        m.weight("dense_1/bias", bf);
        Path json = m.write(dir, "dense_1");
        Network net = TfjsLayersReader.read(json);

        NetworkBuilder b = new NetworkBuilder("direct", 3, 9, 9);
        SDVariable x = b.conv2d("c1", b.input(), k1, b1, 1, 1, Padding.SAME, 1, 1);
        x = b.batchNorm("bn", x, mean, var, Nd4j.ones(DataType.FLOAT, 4), beta, 1e-3);
        x = b.leakyRelu("lr", x, 0.1);
        x = b.maxPool("mp", x, 2, 2, 2, 2, Padding.SAME);
        x = b.zeroPad("zp", x, 1, 0, 0, 1);
        SDVariable dw = b.relu("dwr", b.depthwiseConv2d("dw", x, kd, bd, 1, 1, Padding.VALID, 1, 1));
        SDVariable pw = b.relu6("c2r", b.conv2d("c2", dw, k2, null, 1, 1, Padding.SAME, 1, 1));
        x = b.concat("cat", 1, b.add("add", dw, pw), dw);
        SDVariable logits = b.dense("fc", b.globalAvgPool("gap", x, false), kf, bf);
        b.softmax("prob", logits);
        Network direct = b.build("prob");

        assertArrayEquals(new long[] {3, 9, 9}, net.inputShape());
        assertEquals(List.of("dense_1/softmax"), net.outputs());
        assertEquals(Map.of("format", "tfjs-layers", "source", json.toString()), net.properties());
        assertEquals(opCounts(direct), opCounts(net));
        INDArray in = random(-1, 1, 3, 3, 9, 9);
        Map<String, INDArray> got = net.run(in, List.of("dense_1", "dense_1/softmax", "concatenate_1"));
        Map<String, INDArray> want = direct.run(in, List.of("fc", "prob", "cat"));
        assertArrayEquals(new long[] {3, 16, 4, 4}, got.get("concatenate_1").shape());
        assertTrue(want.get("cat").equalsWithEps(got.get("concatenate_1"), 1e-5));
        assertTrue(want.get("fc").equalsWithEps(got.get("dense_1"), 1e-5));
        assertTrue(want.get("prob").equalsWithEps(got.get("dense_1/softmax"), 1e-5));
    }

    /**
     * Sequential (Keras 2.1.6 list form): Flatten -> Dense relu -> BN -> Reshape [1,2,3] -> Flatten ->
     * Dense softmax, against a plain-Java forward pass in Keras' own NHWC element order.
     */
    @Test
    void sequentialFlattenAndReshapeKeepKerasElementOrder() throws Exception {
        INDArray k1 = random(-0.5, 0.5, 24, 6);
        INDArray b1 = random(-0.2, 0.2, 6);
        INDArray gamma = random(0.5, 1.5, 6);
        INDArray beta = random(-0.3, 0.3, 6);
        INDArray mean = random(-0.3, 0.3, 6);
        INDArray var = random(0.5, 1.5, 6);
        INDArray k2 = random(-0.5, 0.5, 6, 3);
        INDArray b2 = random(-0.2, 0.2, 3);
        KerasModelWriter m = KerasModelWriter.sequential(2, 3, 4, "Flatten", "flatten_1");
        m.layer("Dense", "dense_1").put("units", 6).put("activation", "relu");
        m.weight("dense_1/kernel", k1);
        m.weight("dense_1/bias", b1);
        m.layer("BatchNormalization", "batch_normalization_1").put("axis", -1).put("epsilon", 0.01);
        m.weight("batch_normalization_1/gamma", gamma);
        m.weight("batch_normalization_1/beta", beta);
        m.weight("batch_normalization_1/moving_mean", mean);
        m.weight("batch_normalization_1/moving_variance", var);
        m.layer("Reshape", "reshape_1").putArray("target_shape").add(1).add(2).add(-1);
        m.layer("Flatten", "flatten_2");
        m.layer("Dense", "dense_2").put("units", 3).put("activation", "softmax");
        m.weight("dense_2/kernel", k2);
        m.weight("dense_2/bias", b2);
        Network net = TfjsLayersReader.read(m.write(dir, null));

        INDArray in = random(-1, 1, 2, 4, 2, 3);
        Map<String, INDArray> got = net.run(in, List.of("reshape_1", "dense_2/softmax"));
        assertEquals(List.of("dense_2/softmax"), net.outputs());
        assertArrayEquals(new long[] {2, 3, 1, 2}, got.get("reshape_1").shape());
        for (int n = 0; n < 2; n++) {
            float[] flat = new float[24];
            for (int c = 0; c < 4; c++) {
                for (int h = 0; h < 2; h++) {
                    for (int w = 0; w < 3; w++) {
                        flat[(h * 3 + w) * 4 + c] = in.getFloat(n, c, h, w);
                    }
                }
            }
            double[] hidden = new double[6];
            for (int j = 0; j < 6; j++) {
                double s = b1.getDouble(j);
                for (int i = 0; i < 24; i++) {
                    s += flat[i] * k1.getDouble(i, j);
                }
                s = Math.max(0, s);
                hidden[j] = (s - mean.getDouble(j)) / Math.sqrt(var.getDouble(j) + 0.01) * gamma.getDouble(j)
                        + beta.getDouble(j);
            }
            // Keras' [1,2,3] tensor holds hidden in HWC order: element (h=0, w, c) = hidden[w*3 + c].
            for (int w = 0; w < 2; w++) {
                for (int ch = 0; ch < 3; ch++) {
                    assertEquals(hidden[w * 3 + ch], got.get("reshape_1").getDouble(n, ch, 0, w), 1e-5);
                }
            }
            double[] logits = new double[3];
            double z = 0;
            for (int j = 0; j < 3; j++) {
                logits[j] = b2.getDouble(j);
                for (int i = 0; i < 6; i++) {
                    logits[j] += hidden[i] * k2.getDouble(i, j);
                }
                z += Math.exp(logits[j]);
            }
            for (int j = 0; j < 3; j++) {
                assertEquals(Math.exp(logits[j]) / z, got.get("dense_2/softmax").getDouble(n, j), 1e-5);
            }
        }
    }

    /**
     * input 10x10x2 -> Conv2D 3x3 dilation 2 valid tanh -> ReLU(max 6) -> AveragePooling2D 3/2 same;
     * Add(pool, Activation sigmoid, ReLU(negative_slope)) -> DepthwiseConv2D 3x3 dilation 2 same ->
     * Conv2D 2x2/2 same sigmoid (no bias) -> GlobalAveragePooling2D keepdims -> Reshape [4] -> Dense
     * -> Softmax layer. The direct network uses ND4J's own dilated convolution, run without oneDNN
     * (which fails on dilation), while the reader emits zero-inflated kernels.
     */
    @Test
    void otherLayerKindsMatchTheSameNetworkBuiltDirectly() throws Exception {
        INDArray k1 = random(-0.5, 0.5, 3, 3, 2, 3);
        INDArray b1 = random(-0.2, 0.2, 3);
        INDArray kd = random(-0.5, 0.5, 3, 3, 3, 1);
        INDArray k2 = random(-0.5, 0.5, 2, 2, 3, 4);
        INDArray kf = random(-0.5, 0.5, 4, 2);
        INDArray bf = random(-0.2, 0.2, 2);
        KerasModelWriter m = KerasModelWriter.functional(10, 10, 2);
        ObjectNode c = m.layer("Conv2D", "conv2d_1", "input_1").put("filters", 3).put("activation", "tanh");
        c.putArray("kernel_size").add(3).add(3);
        c.putArray("dilation_rate").add(2).add(2);
        m.weight("conv2d_1/kernel", k1);
        m.weight("conv2d_1/bias", b1);
        m.layer("ReLU", "re_lu_1", "conv2d_1").put("max_value", 6.0);
        m.layer("AveragePooling2D", "average_pooling2d_1", "re_lu_1").put("pool_size", 3).put("strides", 2)
                .put("padding", "same");
        m.layer("Activation", "activation_1", "average_pooling2d_1").put("activation", "sigmoid");
        m.layer("ReLU", "re_lu_2", "average_pooling2d_1").put("negative_slope", 0.2);
        m.layer("Add", "add_1", "average_pooling2d_1", "activation_1", "re_lu_2");
        ObjectNode d = m.layer("DepthwiseConv2D", "depthwise_conv2d_1", "add_1").put("padding", "same")
                .put("use_bias", false).put("dilation_rate", 2);
        d.putArray("kernel_size").add(3).add(3);
        m.weight("depthwise_conv2d_1/depthwise_kernel", kd);
        ObjectNode c2 = m.layer("Conv2D", "conv2d_2", "depthwise_conv2d_1").put("filters", 4).put("activation", "sigmoid")
                .put("use_bias", false).put("padding", "same").put("strides", 2);
        c2.putArray("kernel_size").add(2).add(2);
        m.weight("conv2d_2/kernel", k2);
        m.layer("GlobalAveragePooling2D", "global_average_pooling2d_1", "conv2d_2").put("keepdims", true);
        m.layer("Reshape", "reshape_1", "global_average_pooling2d_1").putArray("target_shape").add(4);
        m.layer("Dense", "dense_1", "reshape_1").put("units", 2);
        m.weight("dense_1/kernel", kf);
        m.weight("dense_1/bias", bf);
        m.layer("Softmax", "softmax_1", "dense_1");
        Network net = TfjsLayersReader.read(m.write(dir, "softmax_1"));

        NetworkBuilder b = new NetworkBuilder("direct", 2, 10, 10);
        SDVariable x = b.tanh("t", b.conv2d("c1", b.input(), k1, b1, 1, 1, Padding.VALID, 2, 2));
        x = b.avgPool("ap", b.relu6("r6", x), 3, 3, 2, 2, Padding.SAME);
        x = b.add("sum", b.add("sum0", x, b.sigmoid("sg", x)), b.leakyRelu("lk", x, 0.2));
        x = b.depthwiseConv2d("dw", x, kd, null, 1, 1, Padding.SAME, 2, 2);
        x = b.sigmoid("sg2", b.conv2d("c2", x, k2, null, 2, 2, Padding.SAME, 1, 1));
        x = b.reshape("flat", b.globalAvgPool("gap", x, true), -1, 4);
        b.softmax("prob", b.dense("fc", x, kf, bf));
        Network direct = b.build("prob");

        assertEquals(List.of("softmax_1"), net.outputs());
        assertEquals(opCounts(direct), opCounts(net));
        INDArray in = random(-1, 1, 2, 2, 10, 10);
        Map<String, INDArray> got = net.run(in, List.of("add_1", "dense_1", "softmax_1"));
        boolean helpers = Nd4j.getEnvironment().helpersAllowed();
        Map<String, INDArray> want;
        try {
            Nd4j.getEnvironment().allowHelpers(false);
            want = direct.run(in, List.of("sum", "fc", "prob"));
        } finally {
            Nd4j.getEnvironment().allowHelpers(helpers);
        }
        assertArrayEquals(new long[] {2, 3, 3, 3}, got.get("add_1").shape());
        assertArrayEquals(new long[] {5, 5, 2, 3}, net.sameDiff().getArrForVarName("conv2d_1/W").shape());
        assertTrue(want.get("sum").equalsWithEps(got.get("add_1"), 1e-5));
        assertTrue(want.get("fc").equalsWithEps(got.get("dense_1"), 1e-5));
        assertTrue(want.get("prob").equalsWithEps(got.get("softmax_1"), 1e-5));
    }

    /** uint8 codes q mean min + scale * q; float16 is IEEE binary16. */
    @Test
    void quantizedWeightsAreDequantized() throws Exception {
        KerasModelWriter m = KerasModelWriter.functional(1, 1, 2);
        m.layer("Flatten", "flatten_1", "input_1");
        m.layer("Dense", "dense_1", "flatten_1").put("units", 3);
        byte[] codes = {0, 1, (byte) 128, (byte) 255, 7, 100};
        m.quantizedWeight("dense_1/kernel", new long[] {2, 3}, codes, "uint8", -1.0, 0.01);
        // 1.5, -2.0, 2^-24 (subnormal) as little-endian binary16
        byte[] halves = {0x00, 0x3E, 0x00, (byte) 0xC0, 0x01, 0x00};
        m.quantizedWeight("dense_1/bias", new long[] {3}, halves, "float16", null, null);
        Network net = TfjsLayersReader.read(m.write(dir, "dense_1"));

        INDArray w = net.sameDiff().getArrForVarName("dense_1/W");
        int[] q = {0, 1, 128, 255, 7, 100};
        for (int i = 0; i < q.length; i++) {
            assertEquals(-1.0 + 0.01 * q[i], w.getDouble(i / 3, i % 3), 1e-6);
        }
        assertArrayEquals(new float[] {1.5f, -2f, 0x1p-24f},
                net.sameDiff().getArrForVarName("dense_1/b").toFloatVector(), 0f);
        INDArray out = net.output(Nd4j.create(new float[] {1, 0}, new long[] {1, 2, 1, 1}, 'c'));
        assertEquals(-1.0 + 1.5, out.getDouble(0, 0), 1e-6);
    }

    private static Map<?, Integer> opCounts(Network n) {
        return OpCounts.of(n);
    }
}
