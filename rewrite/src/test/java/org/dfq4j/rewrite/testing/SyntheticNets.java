package org.dfq4j.rewrite.testing;

import java.util.Map;
import java.util.Random;
import org.dfq4j.rewrite.graph.NetworkBuilder;
import org.dfq4j.rewrite.graph.Padding;
import org.nd4j.autodiff.samediff.SDVariable;
import org.nd4j.autodiff.samediff.SameDiff;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;
import org.nd4j.linalg.ops.transforms.Transforms;

/**
 * Seeded synthetic layers for rewrite tests. BatchNorm statistics are calibrated: mean and variance
 * are measured on the actual pre-activation of a calibration batch, so a BN output is ~N(beta, gamma^2)
 * per channel, as in a trained network (a random uncalibrated network saturates and numeric checks
 * would prove nothing).
 */
public final class SyntheticNets {

    private final NetworkBuilder b;
    private final INDArray calibration;
    private final Random random;

    /** A builder for an input [channels, size, size] with a seeded calibration batch of 8. */
    public SyntheticNets(String name, long seed, int channels, int size) {
        this.b = new NetworkBuilder(name, channels, size, size);
        this.random = new Random(seed);
        this.calibration = randn(8, channels, size, size);
        b.sameDiff().setEnableCache(false);
    }

    public NetworkBuilder builder() {
        return b;
    }

    public SDVariable input() {
        return b.input();
    }

    /** The calibration batch the BN statistics come from. */
    public INDArray calibration() {
        return calibration;
    }

    /** Standard normal values of the given shape from this builder's seed. */
    public INDArray randn(long... shape) {
        long n = 1;
        for (long s : shape) {
            n *= s;
        }
        float[] v = new float[(int) n];
        for (int i = 0; i < v.length; i++) {
            v[i] = (float) random.nextGaussian();
        }
        return Nd4j.createFromArray(v).reshape(shape);
    }

    /** Uniform values in [lo, hi). */
    public INDArray uniform(double lo, double hi, long... shape) {
        INDArray a = randn(shape);
        float[] v = a.data().asFloat();
        for (int i = 0; i < v.length; i++) {
            v[i] = (float) (lo + (hi - lo) * random.nextDouble());
        }
        return Nd4j.createFromArray(v).reshape(shape);
    }

    /** Conv weights [k,k,in,out] with He scaling and a random bias. */
    public SDVariable conv(String name, SDVariable x, int k, int in, int out, int stride, Padding pad) {
        INDArray w = randn(k, k, in, out).muli(Math.sqrt(2.0 / (k * k * in)));
        return b.conv2d(name, x, w, randn(out).muli(0.1), stride, stride, pad, 1, 1);
    }

    /** Depthwise weights [k,k,c,mult] with He scaling and a random bias. */
    public SDVariable depthwise(String name, SDVariable x, int k, int c, int mult, int stride, Padding pad) {
        INDArray w = randn(k, k, c, mult).muli(Math.sqrt(2.0 / (k * k)));
        return b.depthwiseConv2d(name, x, w, randn((long) c * mult).muli(0.1), stride, stride, pad, 1, 1);
    }

    public SDVariable dense(String name, SDVariable x, int in, int out) {
        return b.dense(name, x, randn(in, out).muli(Math.sqrt(2.0 / in)), randn(out).muli(0.1));
    }

    /**
     * BatchNorm on x with mean and variance measured on the calibration batch, gamma uniform in
     * [gammaLo, gammaHi) and beta uniform in [betaLo, betaHi).
     */
    public SDVariable calibratedBatchNorm(String name, SDVariable x, double gammaLo, double gammaHi,
                                          double betaLo, double betaHi) {
        INDArray pre = evaluate(x);
        int[] axes = pre.rank() == 4 ? new int[] {0, 2, 3} : new int[] {0};
        INDArray mean = pre.mean(axes);
        INDArray var = pre.var(false, axes);
        long c = mean.length();
        return b.batchNorm(name, x, mean, var, uniform(gammaLo, gammaHi, c), uniform(betaLo, betaHi, c), 1e-3);
    }

    /** BatchNorm with gamma in [0.5,1.5) and beta in [-0.5,0.5). */
    public SDVariable calibratedBatchNorm(String name, SDVariable x) {
        return calibratedBatchNorm(name, x, 0.5, 1.5, -0.5, 0.5);
    }

    /**
     * BatchNorm with plausible but uncalibrated statistics (mean ~ N(0, 0.1^2), variance in [0.5, 2),
     * gamma in [0.5, 1.5), beta in [-0.5, 0.5)): no forward pass, for structural and timing tests of
     * large graphs only.
     */
    public SDVariable uncalibratedBatchNorm(String name, SDVariable x, long channels) {
        return b.batchNorm(name, x, randn(channels).muli(0.1), uniform(0.5, 2, channels), uniform(0.5, 1.5, channels),
                uniform(-0.5, 0.5, channels), 1e-3);
    }

    /** The value of x on the calibration batch. */
    public INDArray evaluate(SDVariable x) {
        SameDiff sd = b.sameDiff();
        return sd.output(Map.of(b.input().name(), calibration), x.name()).get(x.name()).dup();
    }

    /** max|a - b| / max|b|. */
    public static double relativeError(INDArray a, INDArray b) {
        double scale = Math.max(Transforms.abs(b.castTo(DataType.DOUBLE)).maxNumber().doubleValue(), 1e-30);
        return Transforms.abs(a.castTo(DataType.DOUBLE).sub(b.castTo(DataType.DOUBLE))).maxNumber().doubleValue()
                / scale;
    }

    /**
     * A calibrated mobile block, input [3, 8, 8]: conv1 -> bn1 -> relu r1 -> depthwise dw (x2, stride
     * 2) -> bn2 -> relu6 r2 -> global average pool gap -> dense fc -> bn3 (the output).
     */
    public static SyntheticNets convDepthwiseDense(String name, long seed) {
        SyntheticNets n = new SyntheticNets(name, seed, 3, 8);
        var b = n.builder();
        SDVariable x = b.relu("r1", n.calibratedBatchNorm("bn1", n.conv("conv1", n.input(), 3, 3, 6, 1, Padding.SAME)));
        x = b.relu6("r2", n.calibratedBatchNorm("bn2", n.depthwise("dw", x, 3, 6, 2, 2, Padding.SAME)));
        n.calibratedBatchNorm("bn3", n.dense("fc", b.globalAvgPool("gap", x, false), 12, 5));
        return n;
    }

    /** A chain of {@code layers} 3x3 conv + relu layers of one shape (4 channels, 16x16), outputs r0..r{n-1}. */
    public static SyntheticNets convChain(String name, long seed, int layers) {
        SyntheticNets n = new SyntheticNets(name, seed, 4, 16);
        SDVariable x = n.input();
        for (int i = 0; i < layers; i++) {
            x = n.builder().relu("r" + i, n.conv("c" + i, x, 3, 4, 4, 1, Padding.SAME));
        }
        return n;
    }
}
