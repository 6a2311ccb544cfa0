package org.dfq4j.rewrite.graph;

import java.util.Arrays;
import java.util.Map;
import java.util.Optional;
import java.util.OptionalDouble;
import org.nd4j.autodiff.functions.DifferentialFunction;
import org.nd4j.autodiff.samediff.internal.SameDiffOp;
import org.nd4j.enums.WeightsFormat;
import org.nd4j.linalg.api.ops.BaseReduceOp;
import org.nd4j.linalg.api.ops.BaseScalarOp;
import org.nd4j.linalg.api.ops.BaseTransformOp;
import org.nd4j.linalg.api.ops.DynamicCustomOp;
import org.nd4j.linalg.api.ops.impl.layers.convolution.AvgPooling2D;
import org.nd4j.linalg.api.ops.impl.layers.convolution.BatchNorm;
import org.nd4j.linalg.api.ops.impl.layers.convolution.MaxPooling2D;
import org.nd4j.linalg.api.ops.impl.layers.convolution.config.Conv2DConfig;
import org.nd4j.linalg.api.ops.impl.layers.convolution.config.PaddingMode;
import org.nd4j.linalg.api.ops.impl.layers.convolution.config.Pooling2DConfig;
import org.nd4j.linalg.api.ops.impl.transforms.Pad;

/**
 * Typed reads of the configuration of the ops dfq4j rewrites: the one adapter between dfq4j and
 * ND4J's op classes (casts to {@code DynamicCustomOp}, {@code BaseScalarOp}, {@code BatchNorm}, the
 * convolution and pooling configurations and reads of {@code propertiesForFunction()} happen here and
 * nowhere else). Every accessor says what
 * it returns when the op does not carry the attribute, instead of throwing a ClassCastException.
 */
public final class OpAttributes {

    /**
     * A BatchNorm's configuration.
     *
     * @param epsilon    the variance epsilon
     * @param applyGamma whether gamma multiplies
     * @param applyBeta  whether beta is added
     * @param axes       the channel axes
     */
    public record BatchNormConfig(double epsilon, boolean applyGamma, boolean applyBeta, long[] axes) {
        /** A copy of the axes. */
        @Override
        public long[] axes() {
            return axes.clone();
        }
    }

    /**
     * The window of a convolution: kernel size and padding.
     *
     * @param kH      kernel height
     * @param kW      kernel width
     * @param same    SAME padding (TensorFlow's rule)
     * @param padH    explicit padding rows
     * @param padW    explicit padding columns
     */
    public record Window(long kH, long kW, boolean same, long padH, long padW) {
        /** Whether some output reads zero padding: a kernel wider than 1 with SAME or explicit padding. */
        public boolean readsPadding() {
            return (kH > 1 || kW > 1) && (same || padH > 0 || padW > 0);
        }
    }

    /**
     * A fake-quant op's integer grid.
     *
     * @param bits   bit width
     * @param narrow narrow range (the lowest level unused, as for symmetric quantization)
     */
    public record FakeQuantConfig(int bits, boolean narrow) {
    }

    /**
     * A matmul's configuration.
     *
     * @param transposeA      whether A is transposed first
     * @param transposeB      whether B is transposed first
     * @param transposeResult whether the product is transposed
     * @param alpha           the factor on the product (1 for a plain product)
     */
    public record MatMulConfig(boolean transposeA, boolean transposeB, boolean transposeResult, double alpha) {
        /** Whether this is plain A x B. */
        public boolean plain() {
            return !transposeA && !transposeB && !transposeResult && alpha == 1.0;
        }
    }

    private final DifferentialFunction fn;
    private final OpKind kind;

    private OpAttributes(DifferentialFunction fn) {
        this.fn = fn;
        this.kind = OpKind.of(fn);
    }

    /** The attributes of a SameDiff op. */
    public static OpAttributes of(SameDiffOp op) {
        return new OpAttributes(op.getOp());
    }

    /** The op's kind. */
    public OpKind kind() {
        return kind;
    }

    /**
     * The scalar of a scalar op: the cutoff of relu and relu6, alpha of leakyrelu, the operand of
     * add_scalar; empty for other ops.
     */
    public OptionalDouble scalar() {
        if (fn instanceof BaseScalarOp s && s.scalar() != null) {
            return OptionalDouble.of(s.scalar().getDouble(0));
        }
        if (fn instanceof BaseScalarOp s && s.getScalarValue() != null) {
            return OptionalDouble.of(s.getScalarValue().getDouble(0));
        }
        return OptionalDouble.empty();
    }

    /**
     * A leakyrelu's alpha as configured (double precision); empty for other ops. The op's
     * {@link #scalar()} holds the same alpha rounded to float.
     */
    public OptionalDouble leakyReluAlpha() {
        Map<String, Object> p = kind == OpKind.LEAKY_RELU ? properties() : null;
        return p != null && p.get("alpha") instanceof Number a ? OptionalDouble.of(a.doubleValue()) : OptionalDouble.empty();
    }

    /** The BatchNorm configuration; empty for other ops. */
    public Optional<BatchNormConfig> batchNorm() {
        if (!(fn instanceof BatchNorm bn)) {
            return Optional.empty();
        }
        // after SameDiff.dup() only the integer arguments (applyGamma, applyBeta, axes...) keep the axes
        long[] axes;
        if (bn.getJaxis() != null) {
            axes = Arrays.stream(bn.getJaxis()).asLongStream().toArray();
        } else {
            long[] i = bn.iArgs();
            axes = i.length > 2 ? Arrays.copyOfRange(i, 2, i.length) : new long[0];
        }
        return Optional.of(new BatchNormConfig(bn.getEpsilon(), bn.isApplyGamma(), bn.isApplyBeta(), axes));
    }

    /** The window of a convolution or pooling op (kernel and padding); empty for other ops. */
    public Optional<Window> window() {
        Map<String, Object> p = properties();
        if (p == null || !(p.get("kH") instanceof Number) || !(p.get("kW") instanceof Number)) {
            return Optional.empty();
        }
        return Optional.of(new Window(number(p.get("kH")), number(p.get("kW")),
                "SAME".equals(String.valueOf(p.get("paddingMode"))), number(p.get("pH")), number(p.get("pW"))));
    }

    /** Whether a pooling op works on NHWC data; empty when the op does not say. */
    public Optional<Boolean> nhwc() {
        Map<String, Object> p = properties();
        return p != null && p.get("isNHWC") instanceof Boolean b ? Optional.of(b) : Optional.empty();
    }

    /** A pad op's constant: empty unless it pads in CONSTANT mode (mode 0). */
    public OptionalDouble constantPadValue() {
        Map<String, Object> p = properties();
        if (p == null || !(p.get("padValue") instanceof Number v) || !(p.get("mode") instanceof Number m)
                || m.intValue() != 0) {
            return OptionalDouble.empty();
        }
        return OptionalDouble.of(v.doubleValue());
    }

    /** The axes of a reduction (reduce_mean); empty for other ops or when unset. */
    public Optional<int[]> reductionAxes() {
        int[] d = fn instanceof BaseReduceOp r ? r.getDimensions() : fn.getDimensions();
        return d == null ? Optional.empty() : Optional.of(d.clone());
    }

    /** Whether a reduction keeps the reduced axes (size 1). */
    public boolean keepDims() {
        Map<String, Object> p = properties();
        return p != null && Boolean.TRUE.equals(p.get("keepDims"));
    }

    /** The integer arguments of a custom op (the axis of concat, the target shape of reshape); empty array otherwise. */
    public long[] integerArguments() {
        return fn instanceof DynamicCustomOp d && d.iArgs() != null ? d.iArgs().clone() : new long[0];
    }

    /** The axis of a concat; -1 when the op does not say. */
    public long concatAxis() {
        long[] i = integerArguments();
        return i.length > 0 ? i[0] : -1;
    }

    /** The floating-point arguments of a custom op (the bounds of ClipByValue); empty array otherwise. */
    public double[] floatArguments() {
        return fn instanceof DynamicCustomOp d && d.tArgs() != null ? d.tArgs().clone() : new double[0];
    }

    /** A matmul's transposes and factor; empty for other ops. */
    public Optional<MatMulConfig> matMul() {
        Map<String, Object> p = kind == OpKind.MATMUL ? properties() : null;
        if (p == null) {
            return Optional.empty();
        }
        double[] t = floatArguments();
        return Optional.of(new MatMulConfig(Boolean.TRUE.equals(p.get("transposeA")),
                Boolean.TRUE.equals(p.get("transposeB")), Boolean.TRUE.equals(p.get("transposeResult")),
                t.length > 0 ? t[0] : 1.0));
    }

    /** A fake-quant op's grid (8 bits and full range when the op does not say); empty for other ops. */
    public Optional<FakeQuantConfig> fakeQuant() {
        if (kind != OpKind.FAKE_QUANT || !(fn instanceof DynamicCustomOp d)) {
            return Optional.empty();
        }
        long[] i = d.iArgs();
        boolean[] b = d.bArgs();
        return Optional.of(new FakeQuantConfig(i.length > 0 ? (int) i[0] : 8, b.length > 0 && b[0]));
    }

    /**
     * A convolution's full configuration, read from its integer arguments (which an op loaded from a
     * file or copied by SameDiff.dup() keeps); empty for other ops.
     */
    public Optional<Conv2DConfig> convolution() {
        if (kind != OpKind.CONV2D && kind != OpKind.DEPTHWISE_CONV2D) {
            return Optional.empty();
        }
        long[] a = integerArguments();
        if (a.length < 10) {
            return Optional.empty();
        }
        return Optional.of(Conv2DConfig.builder().kH(a[0]).kW(a[1]).sH(a[2]).sW(a[3]).pH(a[4]).pW(a[5]).dH(a[6])
                .dW(a[7]).paddingMode(PaddingMode.values()[(int) a[8]])
                .dataFormat(a[9] == 1 ? Conv2DConfig.NHWC : Conv2DConfig.NCHW)
                .weightsFormat(a.length > 10 ? WeightsFormat.values()[(int) a[10]] : WeightsFormat.YXIO).build());
    }

    /** A 2-D pooling op's full configuration; empty for other ops. */
    public Optional<Pooling2DConfig> pooling() {
        if (fn instanceof AvgPooling2D p) {
            return Optional.ofNullable(p.getConfig());
        }
        return fn instanceof MaxPooling2D p ? Optional.ofNullable(p.getConfig()) : Optional.empty();
    }

    /** A pad op's mode; empty for other ops. */
    public Optional<Pad.Mode> padMode() {
        Map<String, Object> p = kind == OpKind.PAD ? properties() : null;
        return p != null && p.get("mode") instanceof Number m ? Optional.of(Pad.Mode.values()[m.intValue()])
                : Optional.empty();
    }

    /** A pad op's constant (used in CONSTANT mode); 0 when the op does not say. */
    public double padValue() {
        Map<String, Object> p = properties();
        return p != null && p.get("padValue") instanceof Number v ? v.doubleValue() : 0;
    }

    /** Whether the op is a scalar or transform op: elementwise on its one input. */
    public boolean isElementwiseTransform() {
        return fn instanceof BaseScalarOp || fn instanceof BaseTransformOp;
    }

    private Map<String, Object> properties() {
        try {
            return fn.propertiesForFunction();
        } catch (RuntimeException e) {
            return null;
        }
    }

    private static long number(Object o) {
        return o instanceof Number n ? n.longValue() : 0;
    }
}
