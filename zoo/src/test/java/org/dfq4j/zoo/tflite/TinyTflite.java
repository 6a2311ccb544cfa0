package org.dfq4j.zoo.tflite;

import com.google.flatbuffers.FlatBufferBuilder;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import org.tensorflow.lite.schema.ActivationFunctionType;
import org.tensorflow.lite.schema.Buffer;
import org.tensorflow.lite.schema.BuiltinOperator;
import org.tensorflow.lite.schema.BuiltinOptions;
import org.tensorflow.lite.schema.Conv2DOptions;
import org.tensorflow.lite.schema.Model;
import org.tensorflow.lite.schema.Operator;
import org.tensorflow.lite.schema.OperatorCode;
import org.tensorflow.lite.schema.Padding;
import org.tensorflow.lite.schema.QuantizationParameters;
import org.tensorflow.lite.schema.SubGraph;
import org.tensorflow.lite.schema.Tensor;
import org.tensorflow.lite.schema.TensorType;

/**
 * Writes small .tflite flatbuffers for tests with the schema's own builders: tensors (activations
 * and constants, optionally quantized), operators and one subgraph. Each method returns the index
 * of what it added; options tables come from the schema classes' create* methods via {@link #fb()}.
 */
public final class TinyTflite {

    private final FlatBufferBuilder fb = new FlatBufferBuilder(1024);
    private final List<Integer> buffers = new ArrayList<>();
    private final List<Integer> tensors = new ArrayList<>();
    private final List<Integer> operators = new ArrayList<>();
    private final List<Integer> opcodes = new ArrayList<>();
    private final Map<Integer, Integer> opcodeIndex = new HashMap<>();

    public TinyTflite() {
        buffers.add(Buffer.createBuffer(fb, 0)); // buffer 0: the conventional empty buffer
    }

    public FlatBufferBuilder fb() {
        return fb;
    }

    /** A float32 activation tensor (no data). */
    public int activation(String name, int... shape) {
        return tensor(name, TensorType.FLOAT32, shape, null, 0);
    }

    /** A quantized activation tensor with per-tensor (scale, zero point). */
    public int quantizedActivation(String name, byte type, float scale, long zeroPoint, int... shape) {
        return tensor(name, type, shape, null,
                quantization(new float[] {scale}, new long[] {zeroPoint}, 0));
    }

    public int floats(String name, float[] values, int... shape) {
        ByteBuffer b = ByteBuffer.allocate(4 * values.length).order(ByteOrder.LITTLE_ENDIAN);
        for (float v : values) {
            b.putFloat(v);
        }
        return tensor(name, TensorType.FLOAT32, shape, b.array(), 0);
    }

    public int ints(String name, int[] values, int... shape) {
        return tensor(name, TensorType.INT32, shape, intBytes(values), 0);
    }

    /** An int8 constant quantized along {@code axis} (one scale per index), zero points all 0. */
    public int int8(String name, byte[] q, float[] scales, int axis, int... shape) {
        return tensor(name, TensorType.INT8, shape, q, quantization(scales, new long[scales.length], axis));
    }

    /** A uint8 constant with one (scale, zero point). */
    public int uint8(String name, byte[] q, float scale, long zeroPoint, int... shape) {
        return tensor(name, TensorType.UINT8, shape, q, quantization(new float[] {scale}, new long[] {zeroPoint}, 0));
    }

    /** An int32 constant with no quantization recorded (a bias whose scale the reader must derive). */
    public int int32Unscaled(String name, int[] q, int... shape) {
        return tensor(name, TensorType.INT32, shape, intBytes(q), 0);
    }

    public void op(int builtinCode, byte optionsType, int options, int[] inputs, int[] outputs) {
        int code = opcodeIndex.computeIfAbsent(builtinCode, c -> {
            opcodes.add(OperatorCode.createOperatorCode(fb, (byte) Math.min(c, 127), 0, 1, c));
            return opcodes.size() - 1;
        });
        int in = Operator.createInputsVector(fb, inputs);
        int out = Operator.createOutputsVector(fb, outputs);
        operators.add(Operator.createOperator(fb, code, in, out, optionsType, options, 0, (byte) 0, 0, 0));
    }

    public void op(int builtinCode, int[] inputs, int[] outputs) {
        op(builtinCode, BuiltinOptions.NONE, 0, inputs, outputs);
    }

    public byte[] finish(int[] inputs, int[] outputs) {
        int ts = SubGraph.createTensorsVector(fb, toArray(tensors));
        int in = SubGraph.createInputsVector(fb, inputs);
        int out = SubGraph.createOutputsVector(fb, outputs);
        int ops = SubGraph.createOperatorsVector(fb, toArray(operators));
        int name = fb.createString("main");
        int sg = SubGraph.createSubGraph(fb, ts, in, out, ops, name);
        int codes = Model.createOperatorCodesVector(fb, toArray(opcodes));
        int sgs = Model.createSubgraphsVector(fb, new int[] {sg});
        int bufs = Model.createBuffersVector(fb, toArray(buffers));
        int model = Model.createModel(fb, 3, codes, sgs, 0, bufs, 0, 0, 0);
        Model.finishModelBuffer(fb, model);
        return fb.sizedByteArray();
    }

    /** x [1,3,3,2] -> int8 per-channel 1x1 conv (one output channel per scale, codes 1, 2, ...) -> y. */
    public static byte[] int8Conv(float[] scales) {
        TinyTflite t = new TinyTflite();
        int x = t.activation("x", 1, 3, 3, 2);
        byte[] q = new byte[scales.length * 2];
        for (int i = 0; i < q.length; i++) {
            q[i] = (byte) (i + 1);
        }
        int w = t.int8("conv/weights", q, scales, 0, scales.length, 1, 1, 2);
        int y = t.activation("y", 1, 3, 3, scales.length);
        int o = Conv2DOptions.createConv2DOptions(t.fb(), Padding.SAME, 1, 1, ActivationFunctionType.NONE, 1, 1);
        t.op(BuiltinOperator.CONV_2D, BuiltinOptions.Conv2DOptions, o, new int[] {x, w, -1}, new int[] {y});
        return t.finish(new int[] {x}, new int[] {y});
    }

    /**
     * {@link #int8Conv} after a 4-byte edit: the length of its weight scale vector becomes 2^30 + 1.
     * The last element's offset, 2^30 * 4, overflows int arithmetic back to the first element, so
     * reading it succeeds; a reader that then allocates the array asks for 4 GiB.
     */
    public static byte[] scaleVectorLengthOverflow() {
        float[] scales = {0.123456f, 0.654321f};
        byte[] b = int8Conv(scales);
        ByteBuffer needle = ByteBuffer.allocate(8).order(ByteOrder.LITTLE_ENDIAN).putFloat(scales[0]).putFloat(scales[1]);
        int at = indexOf(b, needle.array());
        if (at < 4) {
            throw new IllegalStateException("the scale vector is not in the flatbuffer");
        }
        ByteBuffer.wrap(b).order(ByteOrder.LITTLE_ENDIAN).putInt(at - 4, (1 << 30) + 1);
        return b;
    }

    /** Where {@code needle} first occurs in {@code hay}, or -1. */
    public static int indexOf(byte[] hay, byte[] needle) {
        outer:
        for (int i = 0; i + needle.length <= hay.length; i++) {
            for (int j = 0; j < needle.length; j++) {
                if (hay[i + j] != needle[j]) {
                    continue outer;
                }
            }
            return i;
        }
        return -1;
    }

    private int tensor(String name, byte type, int[] shape, byte[] data, int quantization) {
        int buffer = 0;
        if (data != null) {
            int d = Buffer.createDataVector(fb, data);
            buffers.add(Buffer.createBuffer(fb, d));
            buffer = buffers.size() - 1;
        }
        int s = Tensor.createShapeVector(fb, shape);
        int n = fb.createString(name);
        tensors.add(Tensor.createTensor(fb, s, type, buffer, n, quantization, false, 0, 0, false, 0));
        return tensors.size() - 1;
    }

    private int quantization(float[] scales, long[] zeroPoints, int axis) {
        int s = QuantizationParameters.createScaleVector(fb, scales);
        int z = QuantizationParameters.createZeroPointVector(fb, zeroPoints);
        return QuantizationParameters.createQuantizationParameters(fb, 0, 0, s, z, (byte) 0, 0, axis);
    }

    private static byte[] intBytes(int[] values) {
        ByteBuffer b = ByteBuffer.allocate(4 * values.length).order(ByteOrder.LITTLE_ENDIAN);
        for (int v : values) {
            b.putInt(v);
        }
        return b.array();
    }

    private static int[] toArray(List<Integer> xs) {
        return xs.stream().mapToInt(Integer::intValue).toArray();
    }

    /** A model of one unary op (x [1,2,2,1] -> y [1,2,2,1]), e.g. RELU or an unsupported TANH. */
    static byte[] unary(int builtinOperator) {
        TinyTflite t = new TinyTflite();
        int x = t.activation("x", 1, 2, 2, 1);
        int y = t.activation("y", 1, 2, 2, 1);
        t.op(builtinOperator, new int[] {x}, new int[] {y});
        return t.finish(new int[] {x}, new int[] {y});
    }
}
