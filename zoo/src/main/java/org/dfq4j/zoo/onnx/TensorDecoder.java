package org.dfq4j.zoo.onnx;

import java.nio.ByteBuffer;
import onnx.Onnx.TensorProto;
import org.dfq4j.rewrite.DfqException;
import org.dfq4j.rewrite.graph.ModelChecks;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;

/**
 * Turns an ONNX {@link TensorProto} (an initializer or a Constant's value) into an ND4J array.
 * Floating-point tensors become FLOAT, integer and boolean tensors become LONG (they only ever
 * feed shape arithmetic, which runs on the host with long values). ONNX stores either typed
 * repeated fields or little-endian {@code raw_data}; both are read.
 */
final class TensorDecoder {

    private TensorDecoder() {
    }

    /** Decodes {@code t}; {@code where} names the file and tensor for error messages. */
    static INDArray decode(TensorProto t, String where) {
        if (t.getDataLocation() == TensorProto.DataLocation.EXTERNAL) {
            throw new DfqException(where + ": tensor '" + t.getName()
                    + "' keeps its data in an external file, which is not supported; re-export with the data embedded");
        }
        long[] shape = t.getDimsList().stream().mapToLong(Long::longValue).toArray();
        long count = 1;
        for (long d : shape) {
            if (d < 0) {
                throw new DfqException(where + ": tensor '" + t.getName() + "' has a negative dimension " + d);
            }
            if (d > Integer.MAX_VALUE || (count *= d) > Integer.MAX_VALUE) {
                throw new DfqException(where + ": tensor '" + t.getName() + "' of shape " + java.util.Arrays.toString(shape)
                        + " is too large");
            }
        }
        int n = (int) count;
        ByteBuffer raw = ProtoBytes.rawData(t);
        boolean hasRaw = raw.hasRemaining();
        TensorProto.DataType type = TensorProto.DataType.forNumber(t.getDataType());
        if (type == null) {
            throw new DfqException(where + ": tensor '" + t.getName() + "' has unknown data type " + t.getDataType());
        }
        INDArray a = decode(t, where, type, n, shape, raw, hasRaw);
        String bad = a.dataType().isFPType() ? nonFinite(a) : null;
        if (bad != null) {
            throw new DfqException(where + ": tensor '" + t.getName() + "' " + bad
                    + "; weights and constants must be finite (the file is damaged)");
        }
        return a;
    }

    /**
     * What is non-finite in a decoded real tensor, or null: NaN anywhere, or an infinity in a tensor
     * of more than one value (a single infinite value is a legitimate bound, as in Clip's min or max).
     */
    private static String nonFinite(INDArray a) {
        String bad = ModelChecks.nonFinite(a);
        if (bad == null || a.length() == 1 && !Double.isNaN(a.getDouble(0))) {
            return null;
        }
        return bad;
    }

    /** The values, checked against the size the shape needs before anything is allocated. */
    private static INDArray decode(TensorProto t, String where, TensorProto.DataType type, int n, long[] shape,
                                   ByteBuffer raw, boolean hasRaw) {
        int width = switch (type) {
            case FLOAT, INT32 -> 4;
            case DOUBLE, INT64 -> 8;
            case FLOAT16, INT16, UINT16 -> 2;
            default -> 1;
        };
        if (hasRaw) {
            requireBytes(t, where, raw, (long) width * n);
        } else {
            int have = switch (type) {
                case FLOAT -> t.getFloatDataCount();
                case DOUBLE -> t.getDoubleDataCount();
                case INT64 -> t.getInt64DataCount();
                default -> t.getInt32DataCount();
            };
            requireCount(t, where, have, n);
        }
        switch (type) {
            case FLOAT -> {
                float[] v = new float[n];
                if (hasRaw) {
                    raw.asFloatBuffer().get(v);
                } else {
                    for (int i = 0; i < n; i++) {
                        v[i] = t.getFloatData(i);
                    }
                }
                return Nd4j.create(v, shape, DataType.FLOAT);
            }
            case DOUBLE -> {
                double[] v = new double[n];
                if (hasRaw) {
                    raw.asDoubleBuffer().get(v);
                } else {
                    for (int i = 0; i < n; i++) {
                        v[i] = t.getDoubleData(i);
                    }
                }
                return Nd4j.create(v, shape, DataType.DOUBLE).castTo(DataType.FLOAT);
            }
            case FLOAT16 -> {
                float[] v = new float[n];
                if (hasRaw) {
                    for (int i = 0; i < n; i++) {
                        v[i] = halfToFloat(raw.getShort(2 * i));
                    }
                } else {
                    // int32_data holds the 16 bits of each value
                    for (int i = 0; i < n; i++) {
                        v[i] = halfToFloat((short) t.getInt32Data(i));
                    }
                }
                return Nd4j.create(v, shape, DataType.FLOAT);
            }
            case INT64 -> {
                long[] v = new long[n];
                if (hasRaw) {
                    raw.asLongBuffer().get(v);
                } else {
                    for (int i = 0; i < n; i++) {
                        v[i] = t.getInt64Data(i);
                    }
                }
                return longs(v, shape);
            }
            case INT32, INT16, INT8, UINT8, UINT16, BOOL -> {
                long[] v = new long[n];
                if (hasRaw) {
                    for (int i = 0; i < n; i++) {
                        v[i] = switch (type) {
                            case INT32 -> raw.getInt(4 * i);
                            case INT16 -> raw.getShort(2 * i);
                            case UINT16 -> raw.getShort(2 * i) & 0xFFFF;
                            case INT8 -> raw.get(i);
                            default -> raw.get(i) & 0xFF;
                        };
                    }
                } else {
                    for (int i = 0; i < n; i++) {
                        v[i] = t.getInt32Data(i);
                    }
                }
                return longs(v, shape);
            }
            default -> throw new DfqException(where + ": tensor '" + t.getName() + "' has data type " + type
                    + ", which is not supported");
        }
    }

    /** IEEE 754 binary16 bits to float (Java 17 has no Float.float16ToFloat). */
    static float halfToFloat(short bits) {
        int sign = (bits & 0x8000) << 16;
        int exp = (bits >>> 10) & 0x1F;
        int mant = bits & 0x3FF;
        if (exp == 0x1F) {
            return Float.intBitsToFloat(sign | 0x7F800000 | (mant << 13));
        }
        if (exp == 0) {
            float f = mant * 0x1p-24f;
            return sign == 0 ? f : -f;
        }
        return Float.intBitsToFloat(sign | ((exp + 112) << 23) | (mant << 13));
    }

    /** A LONG array of the given shape (a scalar when the shape is empty). */
    static INDArray longs(long[] values, long[] shape) {
        INDArray a = Nd4j.createFromArray(values);
        return shape.length == 0 ? a.reshape() : a.reshape(shape);
    }

    private static void requireBytes(TensorProto t, String where, ByteBuffer raw, long bytes) {
        if (raw.remaining() != bytes) {
            throw new DfqException(where + ": tensor '" + t.getName() + "' has " + raw.remaining()
                    + " bytes of data, its shape needs " + bytes + " (file damaged?)");
        }
    }

    private static void requireCount(TensorProto t, String where, int have, int need) {
        if (have != need) {
            throw new DfqException(where + ": tensor '" + t.getName() + "' has " + have
                    + " values, its shape needs " + need + " (file damaged?)");
        }
    }
}
