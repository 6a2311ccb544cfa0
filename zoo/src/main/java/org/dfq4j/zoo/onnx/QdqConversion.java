package org.dfq4j.zoo.onnx;

import java.util.HashMap;
import java.util.Map;
import onnx.Onnx.TensorProto;
import org.dfq4j.rewrite.quant.ActivationQuantizer;
import org.dfq4j.zoo.onnx.Value.GraphTensor;
import org.dfq4j.zoo.onnx.Value.HostConstant;
import org.dfq4j.zoo.onnx.Value.Quantized;
import org.nd4j.autodiff.samediff.SDVariable;
import org.nd4j.autodiff.samediff.SameDiff;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ops.impl.transforms.strict.Rint;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;

/**
 * Reads the QDQ format (QuantizeLinear/DequantizeLinear, as dfq4j's exporter and ONNX Runtime's
 * quantizer write it) into what dfq4j simulates:
 *
 * <ul>
 *   <li>QuantizeLinear then DequantizeLinear of a graph tensor becomes one fake-quant op with the file's
 *       scale and zero point: range [(qMin - z) s, (qMax - z) s] over the levels of the zero point's type
 *       (uint8 when absent), which ND4J's fake-quant turns back into exactly that quantizer; of the network
 *       input, whose values preprocessing often puts exactly halfway between levels, it is computed as
 *       QuantizeLinear does, clip(rint(x / s), qMin - z, qMax - z) * s with ties to even;
 *   <li>DequantizeLinear of an integer initializer (int8/uint8 weights, int32 biases; per tensor or per
 *       axis) is computed at import: (q - z) * s as float32, the value a runtime dequantizes to;
 *   <li>QuantizeLinear of a float constant is computed at import too (levels, ties to even).
 * </ul>
 *
 * A QuantizeLinear output read by anything but DequantizeLinear, and per-axis quantization of a graph
 * tensor, are refused with the node named.
 */
final class QdqConversion {

    private final OnnxConverter converter;
    /** ONNX element types of constants by tensor name (the zero point's type fixes the level range). */
    private final Map<String, Integer> types = new HashMap<>();

    QdqConversion(OnnxConverter converter) {
        this.converter = converter;
    }

    /** Records the ONNX element type of a constant (an initializer or a Constant node's value). */
    void type(String onnxName, int onnxType) {
        types.put(onnxName, onnxType);
    }

    void quantize(OnnxNode n) {
        Value x = converter.value(n, 0);
        INDArray scale = floats(n, 1);
        INDArray zero = n.hasInput(2) ? converter.host(n, 2) : null;
        int type = n.hasInput(2) ? types.getOrDefault(n.input(2), TensorProto.DataType.UINT8_VALUE)
                : (int) n.integer("output_dtype", TensorProto.DataType.UINT8_VALUE);
        long[] range = levels(n, type);
        if (x instanceof HostConstant c) {
            INDArray levels = hostQuantize(n, c.array().castTo(DataType.FLOAT), scale, zero, range);
            converter.define(n.output(0), new HostConstant(levels));
            types.put(n.output(0), type);
            return;
        }
        if (scale.length() != 1 || zero != null && zero.length() != 1 || scale.getFloat(0) == 0) {
            throw n.error(scale.getFloat(0) == 0 ? "an activation quantizer with scale 0"
                    : "per-axis quantization of a graph tensor (an activation) is not supported; dfq4j simulates "
                    + "activations per tensor");
        }
        converter.define(n.output(0), new Quantized((GraphTensor) x, scale.getFloat(0),
                zero == null ? 0 : zero.getLong(0), range[0], range[1]));
    }

    void dequantize(OnnxNode n) {
        Value x = converter.value(n, 0);
        INDArray scale = floats(n, 1);
        INDArray zero = n.hasInput(2) ? converter.host(n, 2) : null;
        if (x instanceof Quantized q) {
            if (scale.length() != 1 || scale.getFloat(0) != q.scale()
                    || (zero == null ? 0 : zero.getLong(0)) != q.zeroPoint()) {
                throw n.error("DequantizeLinear with another scale or zero point than its QuantizeLinear ("
                        + q.scale() + ", " + q.zeroPoint() + ") is not supported");
            }
            long levels = q.qMax() - q.qMin() + 1;
            int bits = 64 - Long.numberOfLeadingZeros(levels - 1);
            if (levels != 1L << bits || bits < 2 || bits > 16) {
                throw n.error("a quantizer with " + levels + " levels cannot be simulated (2 to 16 bits)");
            }
            String name = converter.layer(n);
            SDVariable in = q.x().var();
            SDVariable y;
            if (in.name().equals(converter.builder().input().name())) {
                // the network input: preprocessing such as x / 127.5 - 1 puts pixels exactly halfway between
                // levels, so compute what QuantizeLinear computes, ties to even: clip(rint(x / s)) * s
                SameDiff sd = converter.builder().sameDiff();
                SDVariable rounded = new Rint(sd, in.div(name + "/scaled", q.scale()), false).outputVariable();
                SDVariable clipped = sd.math().clipByValue(name + "/clipped", rounded, q.qMin() - q.zeroPoint(),
                        q.qMax() - q.zeroPoint());
                y = clipped.mul(name, q.scale());
            } else {
                // ND4J's levels are 0..2^bits-1: the file's levels shifted by -qMin, its zero point alike
                float[] range = new ActivationQuantizer(q.scale(), (int) (q.zeroPoint() - q.qMin()), 0,
                        (int) (q.qMax() - q.qMin())).range();
                y = converter.builder().fakeQuant(name, in, range[0], range[1], bits, false);
            }
            converter.define(n.output(0), new GraphTensor(y, q.x().shape()));
            return;
        }
        if (!(x instanceof HostConstant c)) {
            throw n.error("DequantizeLinear of a float graph tensor (not the output of QuantizeLinear) is not "
                    + "supported");
        }
        converter.define(n.output(0), new HostConstant(hostDequantize(n, c.array(), scale, zero)));
    }

    /** (q - z) * s in float32 per tensor or along the node's axis. */
    private static INDArray hostDequantize(OnnxNode n, INDArray q, INDArray scale, INDArray zero) {
        long[] shape = q.shape();
        long[] levels = q.castTo(DataType.LONG).dup('c').data().asLong();
        float[] out = new float[levels.length];
        Axis a = Axis.of(n, shape, scale, zero);
        for (int i = 0; i < levels.length; i++) {
            int c = a.channel(i);
            long z = zero == null ? 0 : zero.getLong(c);
            out[i] = (float) (levels[i] - z) * scale.getFloat(c);
        }
        return shape.length == 0 ? Nd4j.scalar(out[0]) : Nd4j.create(out, shape, 'c');
    }

    /** clamp(rint(x / s) + z) per tensor or along the node's axis, as LONG levels. */
    private static INDArray hostQuantize(OnnxNode n, INDArray x, INDArray scale, INDArray zero, long[] range) {
        long[] shape = x.shape();
        float[] v = x.dup('c').data().asFloat();
        long[] out = new long[v.length];
        Axis a = Axis.of(n, shape, scale, zero);
        for (int i = 0; i < v.length; i++) {
            int c = a.channel(i);
            long z = zero == null ? 0 : zero.getLong(c);
            long q = (long) Math.rint(v[i] / scale.getFloat(c)) + z;
            out[i] = Math.max(range[0], Math.min(range[1], q));
        }
        INDArray r = Nd4j.createFromArray(out);
        return shape.length == 0 ? r.reshape() : r.reshape(shape);
    }

    /** Per tensor (one scale) or per channel along the node's axis attribute (default 1). */
    private record Axis(long inner, long channels) {
        static Axis of(OnnxNode n, long[] shape, INDArray scale, INDArray zero) {
            if (zero != null && zero.length() != scale.length()) {
                throw n.error("zero point has " + zero.length() + " values, scale " + scale.length());
            }
            if (scale.length() == 1) {
                return new Axis(1, 1);
            }
            long axis = n.integer("axis", 1);
            axis = axis < 0 ? axis + shape.length : axis;
            if (axis < 0 || axis >= shape.length || shape[(int) axis] != scale.length()) {
                throw n.error("per-axis scale of " + scale.length() + " values does not match axis "
                        + n.integer("axis", 1) + " of shape " + java.util.Arrays.toString(shape));
            }
            long inner = 1;
            for (int d = (int) axis + 1; d < shape.length; d++) {
                inner *= shape[d];
            }
            return new Axis(inner, scale.length());
        }

        int channel(long i) {
            return (int) ((i / inner) % channels);
        }
    }

    private INDArray floats(OnnxNode n, int i) {
        INDArray s = converter.host(n, i).castTo(DataType.FLOAT);
        for (int k = 0; k < s.length(); k++) {
            if (!(s.getFloat(k) >= 0) || Float.isInfinite(s.getFloat(k))) {
                throw n.error("scale " + s.getFloat(k) + " must be finite and not negative");
            }
        }
        return s.reshape(s.length());
    }

    /** The integer levels of a quantized type. */
    private static long[] levels(OnnxNode n, int type) {
        TensorProto.DataType t = TensorProto.DataType.forNumber(type);
        return switch (t == null ? TensorProto.DataType.UNDEFINED : t) {
            case UINT8 -> new long[] {0, 255};
            case INT8 -> new long[] {-128, 127};
            case UINT16 -> new long[] {0, 65535};
            case INT16 -> new long[] {-32768, 32767};
            case INT32 -> new long[] {Integer.MIN_VALUE, Integer.MAX_VALUE};
            default -> throw n.error("quantized type " + type + " is not supported (uint8, int8, uint16, "
                    + "int16 and int32 are)");
        };
    }
}
