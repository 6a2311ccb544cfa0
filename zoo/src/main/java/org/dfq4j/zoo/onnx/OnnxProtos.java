package org.dfq4j.zoo.onnx;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import onnx.Onnx.AttributeProto;
import onnx.Onnx.TensorProto;
import onnx.Onnx.TensorShapeProto;
import onnx.Onnx.TypeProto;
import onnx.Onnx.ValueInfoProto;

/** Builders for the ONNX protobuf pieces the exporter (and the tests' model writer) write. */
final class OnnxProtos {

    private OnnxProtos() {
    }

    /** A float tensor stored as little-endian raw_data. */
    static TensorProto floats(String name, float[] values, long... dims) {
        ByteBuffer buf = ByteBuffer.allocate(4 * values.length).order(ByteOrder.LITTLE_ENDIAN);
        for (float v : values) {
            buf.putFloat(v);
        }
        return raw(name, TensorProto.DataType.FLOAT, buf, dims);
    }

    /** An int8 or uint8 tensor (values must fit the type). */
    static TensorProto bytes(String name, boolean signed, int[] values, long... dims) {
        ByteBuffer buf = ByteBuffer.allocate(values.length);
        for (int v : values) {
            if (signed ? v < -128 || v > 127 : v < 0 || v > 255) {
                throw new IllegalArgumentException("value " + v + " does not fit " + (signed ? "int8" : "uint8"));
            }
            buf.put((byte) v);
        }
        return raw(name, signed ? TensorProto.DataType.INT8 : TensorProto.DataType.UINT8, buf, dims);
    }

    static TensorProto int32s(String name, int[] values, long... dims) {
        ByteBuffer buf = ByteBuffer.allocate(4 * values.length).order(ByteOrder.LITTLE_ENDIAN);
        for (int v : values) {
            buf.putInt(v);
        }
        return raw(name, TensorProto.DataType.INT32, buf, dims);
    }

    static TensorProto int64s(String name, long[] values, long... dims) {
        ByteBuffer buf = ByteBuffer.allocate(8 * values.length).order(ByteOrder.LITTLE_ENDIAN);
        for (long v : values) {
            buf.putLong(v);
        }
        return raw(name, TensorProto.DataType.INT64, buf, dims);
    }

    private static TensorProto raw(String name, TensorProto.DataType type, ByteBuffer data, long... dims) {
        TensorProto.Builder t = ProtoBytes.setRawData(
                TensorProto.newBuilder().setName(name).setDataType(type.getNumber()), data.array());
        for (long d : dims) {
            t.addDims(d);
        }
        return t.build();
    }

    /** A float tensor value; a dim of -1 is written as the symbolic dim "N" (the batch). */
    static ValueInfoProto floatValue(String name, long... dims) {
        TensorShapeProto.Builder shape = TensorShapeProto.newBuilder();
        for (long d : dims) {
            shape.addDim(d < 0 ? TensorShapeProto.Dimension.newBuilder().setDimParam("N")
                    : TensorShapeProto.Dimension.newBuilder().setDimValue(d));
        }
        return ValueInfoProto.newBuilder().setName(name).setType(TypeProto.newBuilder().setTensorType(
                TypeProto.Tensor.newBuilder().setElemType(TensorProto.DataType.FLOAT_VALUE).setShape(shape))).build();
    }

    static AttributeProto ints(String name, long... v) {
        AttributeProto.Builder a = AttributeProto.newBuilder().setName(name).setType(AttributeProto.AttributeType.INTS);
        for (long x : v) {
            a.addInts(x);
        }
        return a.build();
    }

    static AttributeProto integer(String name, long v) {
        return AttributeProto.newBuilder().setName(name).setType(AttributeProto.AttributeType.INT).setI(v).build();
    }

    static AttributeProto real(String name, float v) {
        return AttributeProto.newBuilder().setName(name).setType(AttributeProto.AttributeType.FLOAT).setF(v).build();
    }

    static AttributeProto string(String name, String v) {
        return ProtoBytes.setString(
                AttributeProto.newBuilder().setName(name).setType(AttributeProto.AttributeType.STRING), v).build();
    }
}
