package org.dfq4j.zoo.tflite;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.Optional;
import org.dfq4j.rewrite.DfqException;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;
import org.tensorflow.lite.schema.Buffer;
import org.tensorflow.lite.schema.BuiltinOperator;
import org.tensorflow.lite.schema.Model;
import org.tensorflow.lite.schema.Operator;
import org.tensorflow.lite.schema.OperatorCode;
import org.tensorflow.lite.schema.SubGraph;
import org.tensorflow.lite.schema.Tensor;
import org.tensorflow.lite.schema.TensorType;

/**
 * The main subgraph of a .tflite flatbuffer, checked on load so that a truncated or corrupt file
 * fails in one place, with read access to tensors, their quantization and constant contents.
 */
final class TfliteModel {

    private final Path file;
    private final Model model;
    private final SubGraph graph;
    private final long fileSize;
    /** What {@link #checkStructure} is reading ("tensor 17"), for the message when the flatbuffer ends early. */
    private String reading = "the model tables";

    private TfliteModel(Path file, Model model, SubGraph graph, long fileSize) {
        this.file = file;
        this.model = model;
        this.graph = graph;
        this.fileSize = fileSize;
    }

    /**
     * Reads and checks the file's structure: identifier, subgraph, every tensor (shape, buffer, data
     * size against shape and type, finite float data, usable quantization), buffer and operator
     * reference. A vector whose length claims more bytes than the file holds is refused before
     * anything is allocated for it; other vectors are read element by element, so a corrupt length
     * fails on the first read past the end of the file. Any inconsistency is reported as a one-line
     * {@link DfqException} naming the file and the tensor or operator.
     */
    static TfliteModel parse(Path file, byte[] bytes) {
        ByteBuffer bb = ByteBuffer.wrap(bytes).order(ByteOrder.LITTLE_ENDIAN);
        if (bytes.length < 8 || !Model.ModelBufferHasIdentifier(bb)) {
            throw new DfqException(file + ": not a TFLite model (no 'TFL3' file identifier); expected a .tflite flatbuffer");
        }
        TfliteModel m = null;
        try {
            Model model = Model.getRootAsModel(bb);
            if (model.subgraphsLength() < 1) {
                throw new DfqException(file + ": TFLite model has no subgraph");
            }
            m = new TfliteModel(file, model, model.subgraphs(0), bytes.length);
            m.checkStructure();
            return m;
        } catch (DfqException e) {
            throw e;
        } catch (RuntimeException e) {
            throw new DfqException(file + ": corrupt or truncated TFLite file (" + e.getClass().getSimpleName()
                    + " reading " + (m == null ? "the model tables" : m.reading) + ")", e);
        }
    }

    private void checkStructure() {
        int nt = graph.tensorsLength();
        int nb = model.buffersLength();
        requireFits(nt, 4, "tensor list");
        requireFits(nb, 4, "buffer list");
        requireFits(graph.operatorsLength(), 4, "operator list");
        for (int t = 0; t < nt; t++) {
            reading = "tensor " + t;
            Tensor x = graph.tensors(t);
            x.name();
            requireFits(x.shapeLength(), 4, "shape of tensor " + t);
            long elements = 1;
            for (int i = 0; i < x.shapeLength(); i++) {
                require(x.shape(i) >= 0, "tensor " + t + " has a negative dimension");
                elements *= x.shape(i);
                require(elements <= Integer.MAX_VALUE, "tensor " + describe(t) + " has more than 2^31 elements");
            }
            require(x.buffer() >= 0 && x.buffer() < nb, "tensor " + t + " refers to buffer " + x.buffer() + " of " + nb);
            ByteBuffer d = data(t);
            int size = byteSize(x.type());
            if (d != null && size > 0 && (long) size * elements != d.remaining()) {
                throw new DfqException(file + ": tensor " + describe(t) + " has " + d.remaining() + " bytes of data, its"
                        + " shape and type need " + (long) size * elements + "; the file is damaged");
            }
            if (d != null && x.type() == TensorType.FLOAT32) {
                for (int i = 0; i < elements; i++) {
                    float v = d.getFloat(4 * i);
                    if (!Float.isFinite(v)) {
                        throw new DfqException(file + ": tensor " + describe(t) + " holds " + v + " at index " + i
                                + "; weights must be finite (the file is damaged)");
                    }
                }
            }
            Quantization q;
            try {
                q = Quantization.of(x, fileSize).orElse(null);
            } catch (IllegalArgumentException e) {
                throw new DfqException(file + ": corrupt TFLite file: " + e.getMessage());
            }
            String bad = q == null ? null : q.problem(shape(t));
            if (bad != null) {
                throw new DfqException(file + ": tensor " + describe(t) + " " + bad);
            }
        }
        reading = "the subgraph's inputs and outputs";
        for (int i = 0; i < graph.inputsLength(); i++) {
            requireTensor(graph.inputs(i), nt, false);
        }
        for (int i = 0; i < graph.outputsLength(); i++) {
            requireTensor(graph.outputs(i), nt, false);
        }
        for (int o = 0; o < graph.operatorsLength(); o++) {
            reading = "operator " + o;
            Operator op = graph.operators(o);
            require(op.opcodeIndex() >= 0 && op.opcodeIndex() < model.operatorCodesLength(),
                    "operator " + o + " has opcode index " + op.opcodeIndex());
            opName(o);
            requireFits(op.inputsLength(), 4, "input list of operator " + o);
            requireFits(op.outputsLength(), 4, "output list of operator " + o);
            for (int i = 0; i < op.inputsLength(); i++) {
                requireTensor(op.inputs(i), nt, true);
            }
            for (int i = 0; i < op.outputsLength(); i++) {
                requireTensor(op.outputs(i), nt, false);
            }
        }
    }

    /** A vector of {@code length} elements of at least {@code elementBytes} each must fit in the file. */
    private void requireFits(int length, int elementBytes, String what) {
        require(length >= 0 && (long) length * elementBytes <= fileSize, what + " claims " + length
                + " entries, more than the file holds");
    }

    /** Bytes per element of a fixed-size tensor type; -1 for strings, resources and unknown types. */
    private static int byteSize(byte type) {
        return switch (type) {
            case TensorType.FLOAT32, TensorType.INT32, TensorType.UINT32 -> 4;
            case TensorType.FLOAT16, TensorType.INT16, TensorType.UINT16 -> 2;
            case TensorType.INT8, TensorType.UINT8, TensorType.BOOL -> 1;
            case TensorType.INT64, TensorType.UINT64, TensorType.FLOAT64, TensorType.COMPLEX64 -> 8;
            case TensorType.COMPLEX128 -> 16;
            default -> -1;
        };
    }

    private void requireTensor(int t, int count, boolean optional) {
        require((optional && t == -1) || (t >= 0 && t < count), "tensor index " + t + " out of range (" + count + " tensors)");
    }

    private void require(boolean ok, String what) {
        if (!ok) {
            throw new DfqException(file + ": corrupt TFLite file: " + what);
        }
    }

    Path file() {
        return file;
    }

    SubGraph graph() {
        return graph;
    }

    Operator operator(int index) {
        return graph.operators(index);
    }

    int operatorCount() {
        return graph.operatorsLength();
    }

    /** Builtin operator code of an operator (CUSTOM for custom ops). */
    int builtinCode(int opIndex) {
        OperatorCode oc = model.operatorCodes((int) graph.operators(opIndex).opcodeIndex());
        // Files written since schema v3a keep codes >= 127 in builtin_code and a placeholder in the deprecated byte.
        return Math.max(oc.deprecatedBuiltinCode(), oc.builtinCode());
    }

    /** Operator name: the builtin name (CONV_2D, ...) or a custom op's custom code. */
    String opName(int opIndex) {
        int code = builtinCode(opIndex);
        if (code == BuiltinOperator.CUSTOM) {
            String custom = model.operatorCodes((int) graph.operators(opIndex).opcodeIndex()).customCode();
            return custom == null ? "CUSTOM" : custom;
        }
        return code >= 0 && code < BuiltinOperator.names.length ? BuiltinOperator.name(code) : "BUILTIN_" + code;
    }

    Tensor tensor(int t) {
        return graph.tensors(t);
    }

    String name(int t) {
        String n = graph.tensors(t).name();
        return n == null ? "" : n;
    }

    byte type(int t) {
        return graph.tensors(t).type();
    }

    /** TFLite shape (NHWC for images). */
    long[] shape(int t) {
        Tensor x = graph.tensors(t);
        long[] s = new long[x.shapeLength()];
        for (int i = 0; i < s.length; i++) {
            s[i] = x.shape(i);
        }
        return s;
    }

    Optional<Quantization> quantization(int t) {
        return Quantization.of(graph.tensors(t), fileSize);
    }

    /** True when the tensor's buffer holds data (weights, biases, shapes, anchors). */
    boolean hasData(int t) {
        return data(t) != null;
    }

    /** "'name' (#index, TYPE[shape])" for messages. */
    String describe(int t) {
        byte type = type(t);
        String tn = type >= 0 && type < TensorType.names.length ? TensorType.name(type) : "type" + type;
        return "'" + name(t) + "' (#" + t + ", " + tn + Arrays.toString(shape(t)) + ")";
    }

    /**
     * A constant tensor as float in its TFLite shape; integer tensors with a recorded quantization
     * are dequantized, real = (q - z[c]) * s[c] with c the index along the quantized axis.
     */
    INDArray constant(int t) {
        return constant(t, quantization(t).orElse(null));
    }

    /** As {@link #constant(int)} but dequantized with the given parameters (null: raw values). */
    INDArray constant(int t, Quantization q) {
        ByteBuffer d = data(t);
        if (d == null) {
            throw new DfqException(file + ": tensor " + describe(t) + " was expected to be a constant but has no data");
        }
        byte type = type(t);
        long[] shape = shape(t);
        int n = elementCount(t, d, type);
        boolean dequantize = q != null && type != TensorType.FLOAT32;
        int stride = 1;
        int channels = 1;
        if (dequantize && !q.perTensor()) {
            if (q.axis() < 0 || q.axis() >= shape.length || shape[q.axis()] != q.scales().length) {
                throw new DfqException(file + ": tensor " + describe(t) + " has " + q.scales().length
                        + " scales for quantized dimension " + q.axis());
            }
            channels = (int) shape[q.axis()];
            for (int i = q.axis() + 1; i < shape.length; i++) {
                stride *= (int) shape[i];
            }
        }
        float[] out = new float[n];
        for (int i = 0; i < n; i++) {
            double v = element(d, type, i);
            if (dequantize) {
                int c = (i / stride) % channels;
                v = (v - q.zeroPoint(c)) * q.scale(c);
            }
            out[i] = (float) v;
        }
        return shape.length == 0 ? Nd4j.scalar(out[0]) : Nd4j.create(out, shape, 'c');
    }

    /** An integer constant (shape, axes, paddings) as int values. */
    int[] ints(int t) {
        byte type = type(t);
        if (type != TensorType.INT32 && type != TensorType.INT64) {
            throw new DfqException(file + ": tensor " + describe(t) + " was expected to hold int32 or int64 values");
        }
        INDArray a = constant(t, null);
        return a.castTo(DataType.INT).reshape(a.length()).toIntVector();
    }

    private int elementCount(int t, ByteBuffer d, byte type) {
        int size = switch (type) {
            case TensorType.FLOAT32, TensorType.INT32 -> 4;
            case TensorType.INT8, TensorType.UINT8 -> 1;
            case TensorType.INT16 -> 2;
            case TensorType.INT64 -> 8;
            default -> throw new DfqException(file + ": constant tensor " + describe(t)
                    + " has a type this reader does not decode (supported: float32, int8, uint8, int16, int32, int64)");
        };
        long n = 1;
        for (long s : shape(t)) {
            n *= s;
        }
        if (n * size != d.remaining()) {
            throw new DfqException(file + ": tensor " + describe(t) + " has " + d.remaining() + " bytes of data, expected "
                    + n * size + " (corrupt file?)");
        }
        return (int) n;
    }

    private static double element(ByteBuffer d, byte type, int i) {
        return switch (type) {
            case TensorType.FLOAT32 -> d.getFloat(4 * i);
            case TensorType.INT32 -> d.getInt(4 * i);
            case TensorType.INT8 -> d.get(i);
            case TensorType.UINT8 -> d.get(i) & 0xFF;
            case TensorType.INT16 -> d.getShort(2 * i);
            case TensorType.INT64 -> d.getLong(8 * i);
            default -> throw new IllegalStateException("unchecked type " + type);
        };
    }

    /** The tensor's buffer bytes (little endian, position 0), or null when it has none. */
    private ByteBuffer data(int t) {
        Buffer b = model.buffers((int) graph.tensors(t).buffer());
        if (b == null || b.dataLength() == 0) {
            return null;
        }
        ByteBuffer d = b.dataAsByteBuffer();
        return d == null ? null : d.slice().order(ByteOrder.LITTLE_ENDIAN);
    }
}
