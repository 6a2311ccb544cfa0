package org.dfq4j.rewrite.graph;

import java.util.Collections;
import java.util.HashMap;
import java.util.Map;
import java.util.Optional;
import org.nd4j.autodiff.functions.DifferentialFunction;
import org.nd4j.autodiff.samediff.internal.SameDiffOp;
import org.nd4j.linalg.api.ops.impl.image.ImageResize;
import org.nd4j.linalg.api.ops.impl.layers.convolution.AvgPooling2D;
import org.nd4j.linalg.api.ops.impl.layers.convolution.BatchNorm;
import org.nd4j.linalg.api.ops.impl.layers.convolution.Conv2D;
import org.nd4j.linalg.api.ops.impl.layers.convolution.DepthwiseConv2D;
import org.nd4j.linalg.api.ops.impl.layers.convolution.MaxPooling2D;
import org.nd4j.linalg.api.ops.impl.reduce.Mmul;
import org.nd4j.linalg.api.ops.impl.reduce.floating.Mean;
import org.nd4j.linalg.api.ops.impl.scalar.LeakyReLU;
import org.nd4j.linalg.api.ops.impl.scalar.RectifiedLinear;
import org.nd4j.linalg.api.ops.impl.scalar.Relu6;
import org.nd4j.linalg.api.ops.impl.scalar.ScalarAdd;
import org.nd4j.linalg.api.ops.impl.scalar.ScalarDivision;
import org.nd4j.linalg.api.ops.impl.scalar.ScalarMax;
import org.nd4j.linalg.api.ops.impl.scalar.ScalarMin;
import org.nd4j.linalg.api.ops.impl.scalar.ScalarMultiplication;
import org.nd4j.linalg.api.ops.impl.scalar.ScalarSubtraction;
import org.nd4j.linalg.api.ops.impl.shape.Concat;
import org.nd4j.linalg.api.ops.impl.shape.Permute;
import org.nd4j.linalg.api.ops.impl.shape.Reshape;
import org.nd4j.linalg.api.ops.impl.transforms.Pad;
import org.nd4j.linalg.api.ops.impl.transforms.clip.ClipByValue;
import org.nd4j.linalg.api.ops.impl.transforms.custom.FakeQuantWithMinMaxVars;
import org.nd4j.linalg.api.ops.impl.transforms.custom.Max;
import org.nd4j.linalg.api.ops.impl.transforms.custom.Min;
import org.nd4j.linalg.api.ops.impl.transforms.custom.SoftMax;
import org.nd4j.linalg.api.ops.impl.transforms.custom.XwPlusB;
import org.nd4j.linalg.api.ops.impl.transforms.pairwise.arithmetic.AddOp;
import org.nd4j.linalg.api.ops.impl.transforms.pairwise.arithmetic.DivOp;
import org.nd4j.linalg.api.ops.impl.transforms.pairwise.arithmetic.MulOp;
import org.nd4j.linalg.api.ops.impl.transforms.pairwise.arithmetic.SubOp;
import org.nd4j.linalg.api.ops.impl.transforms.same.Identity;
import org.nd4j.linalg.api.ops.impl.transforms.strict.Rint;
import org.nd4j.linalg.api.ops.impl.transforms.strict.Sigmoid;
import org.nd4j.linalg.api.ops.impl.transforms.strict.Tanh;

/**
 * The one registry of SameDiff op kinds dfq4j reads or writes: each kind with the op name SameDiff
 * gives it ({@code opName()}) and the ND4J class that implements it. Code elsewhere names ops by
 * kind, never by string, so a misspelt name (SameDiff calls the clip op "ClipByValue", not
 * "clipbyvalue") cannot silently match nothing. Every op of another type is {@link #OTHER}; its
 * raw name is still available for messages ({@link #nameOf(SameDiffOp)}).
 */
public enum OpKind {
    /** 2-D convolution, inputs (x, W[kH,kW,in,out], b). */
    CONV2D("conv2d", Conv2D.class),
    /** Depthwise convolution, inputs (x, W[kH,kW,C,mult], b). */
    DEPTHWISE_CONV2D("depthwise_conv2d", DepthwiseConv2D.class),
    /** Fully connected layer x W + b. */
    DENSE("xw_plus_b", XwPlusB.class),
    /** Batch normalization, inputs (x, mean, variance, gamma, beta). */
    BATCH_NORM("batchnorm", BatchNorm.class),
    /** max(x, cutoff), cutoff 0 in every canonical graph. */
    RELU("relu", RectifiedLinear.class),
    /** min(max(x, cutoff), 6). */
    RELU6("relu6", Relu6.class),
    /** x for x &gt; 0, alpha x otherwise. */
    LEAKY_RELU("leakyrelu", LeakyReLU.class),
    /** Elementwise minimum of two tensors (a clip by a constant when one is constant). */
    MINIMUM("minimum", Min.class),
    /** Elementwise maximum of two tensors. */
    MAXIMUM("maximum", Max.class),
    /** min(max(x, lo), hi) with scalar bounds. */
    CLIP_BY_VALUE("ClipByValue", ClipByValue.class),
    /** Padding with a constant, reflection or symmetric mode. */
    PAD("pad", Pad.class),
    /** 2-D average pooling. */
    AVG_POOL("avgpool2d", AvgPooling2D.class),
    /** 2-D max pooling. */
    MAX_POOL("maxpool2d", MaxPooling2D.class),
    /** Mean over axes (global average pooling over the spatial axes). */
    MEAN("reduce_mean", Mean.class),
    /** Reshape. */
    RESHAPE("reshape", Reshape.class),
    /** Axis permutation. */
    PERMUTE("permute", Permute.class),
    /** Identity. */
    IDENTITY("identity", Identity.class),
    /** Elementwise sum of two tensors. */
    ADD("add", AddOp.class),
    /** x + scalar. */
    ADD_SCALAR("add_scalar", ScalarAdd.class),
    /** Elementwise difference. */
    SUBTRACT("subtract", SubOp.class),
    /** Elementwise product. */
    MULTIPLY("multiply", MulOp.class),
    /** Elementwise quotient. */
    DIVIDE("divide", DivOp.class),
    /** x * scalar. */
    MUL_SCALAR("mul_scalar", ScalarMultiplication.class),
    /** x / scalar. */
    DIV_SCALAR("div_scalar", ScalarDivision.class),
    /** Matrix product. */
    MATMUL("matmul", Mmul.class),
    /** Image resize (the nearest-neighbour upsampling readers emit). */
    IMAGE_RESIZE("image_resize", ImageResize.class),
    /** Concatenation along an axis. */
    CONCAT("concat", Concat.class),
    /** Softmax. */
    SOFTMAX("softmax", SoftMax.class),
    /** Logistic sigmoid. */
    SIGMOID("sigmoid", Sigmoid.class),
    /** Hyperbolic tangent. */
    TANH("tanh", Tanh.class),
    /** Per-tensor activation quantize-dequantize with range inputs (min, max). */
    FAKE_QUANT("fake_quant_with_min_max_vars", FakeQuantWithMinMaxVars.class),
    /** Round to the nearest integer, ties to even (the reader's QuantizeLinear of a QDQ input). */
    RINT("rint", Rint.class),
    /** max(x, scalar) (lowered fake-quants clip to their lowest level with it). */
    MAX_SCALAR("max_scalar", ScalarMax.class),
    /** min(x, scalar) (lowered fake-quants clip to their highest level with it). */
    MIN_SCALAR("scalar_min", ScalarMin.class),
    /** x - scalar. */
    SUB_SCALAR("sub_scalar", ScalarSubtraction.class),
    /** Any other op. */
    OTHER("", null);

    private static final Map<String, OpKind> BY_NAME;

    static {
        Map<String, OpKind> m = new HashMap<>();
        for (OpKind k : values()) {
            if (k != OTHER) {
                m.put(k.opName, k);
            }
        }
        BY_NAME = Collections.unmodifiableMap(m);
    }

    private final String opName;
    private final Class<? extends DifferentialFunction> opClass;

    OpKind(String opName, Class<? extends DifferentialFunction> opClass) {
        this.opName = opName;
        this.opClass = opClass;
    }

    /** The name SameDiff gives ops of this kind ({@code DifferentialFunction.opName()}); empty for OTHER. */
    public String opName() {
        return opName;
    }

    /** The ND4J class implementing the op; empty for OTHER. */
    public Optional<Class<? extends DifferentialFunction>> opClass() {
        return Optional.ofNullable(opClass);
    }

    /** Convolution, depthwise convolution or fully connected: the canonical weight layers. */
    public boolean isWeightLayer() {
        return this == CONV2D || this == DEPTHWISE_CONV2D || this == DENSE;
    }

    /** The kind of an op by its SameDiff name; OTHER for names not in the registry. */
    public static OpKind ofName(String opName) {
        return BY_NAME.getOrDefault(opName, OTHER);
    }

    /** The kind of a SameDiff op. */
    public static OpKind of(SameDiffOp op) {
        return of(op.getOp());
    }

    /** The kind of an ND4J function. */
    public static OpKind of(DifferentialFunction f) {
        return ofName(f.opName());
    }

    /** The raw SameDiff name of an op, for messages about ops of any kind. */
    public static String nameOf(SameDiffOp op) {
        return op.getOp().opName();
    }

    @Override
    public String toString() {
        return this == OTHER ? "other" : opName;
    }
}
