package org.dfq4j.zoo.onnx;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import onnx.Onnx.TensorProto;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;

/**
 * Evaluates on the host the small tensor programs exporters wrap around a flatten or a view
 * ({@code Shape -> Gather -> Unsqueeze -> Concat -> Reshape} and friends), so they become constants
 * instead of graph ops. Integers are LONG arrays; the batch size, unknown at import, is the
 * sentinel {@link #BATCH}, which may be moved around (gathered, sliced, concatenated) but not
 * computed with.
 */
final class ShapeArithmetic {

    /** Stands for the batch size inside a LONG host value. */
    static final long BATCH = Long.MIN_VALUE;

    private ShapeArithmetic() {
    }

    /**
     * ONNX Shape: dims {@code [start, end)} (opset 15) of a tensor; for a graph tensor axis 0, the batch,
     * becomes {@link #BATCH}.
     */
    static INDArray shapeOf(long[] shape, boolean graphTensor, long start, long end) {
        int r = shape.length;
        int s = (int) clampIndex(start, r);
        int e = (int) clampIndex(end, r);
        long[] dims = new long[Math.max(0, e - s)];
        for (int i = 0; i < dims.length; i++) {
            long d = shape[s + i];
            dims[i] = graphTensor && (s + i == 0 || d < 0) ? BATCH : d;
        }
        return TensorDecoder.longs(dims, new long[] {dims.length});
    }

    /** ONNX Gather of a host value along {@code axis} with scalar or 1-D indices. */
    static INDArray gather(OnnxNode n, INDArray data, INDArray indices, long axis) {
        if (data.rank() == 0 || indices.rank() > 1) {
            throw n.error("Gather of a constant of shape " + Arrays.toString(data.shape()) + " with indices of shape "
                    + Arrays.toString(indices.shape()) + " is not supported");
        }
        int ax = (int) normalizeAxis(n, axis, data.rank());
        long size = data.size(ax);
        long[] idx = values(indices);
        for (int i = 0; i < idx.length; i++) {
            idx[i] = idx[i] < 0 ? idx[i] + size : idx[i];
            if (idx[i] < 0 || idx[i] >= size) {
                throw n.error("Gather index " + values(indices)[i] + " is out of range for " + size + " values");
            }
        }
        long[][] picks = allIndices(data.shape());
        picks[ax] = idx;
        INDArray taken = take(data, picks);
        if (indices.rank() == 0) {
            long[] shape = new long[data.rank() - 1];
            for (int i = 0, j = 0; i < data.rank(); i++) {
                if (i != ax) {
                    shape[j++] = data.size(i);
                }
            }
            return reshapeExact(taken, shape);
        }
        return taken;
    }

    static INDArray unsqueeze(OnnxNode n, INDArray a, long[] axes) {
        return reshapeExact(a, unsqueezedShape(n, a.shape(), axes));
    }

    /** Shape of {@code Squeeze(shape, axes)}; {@code axes == null} removes every 1. */
    static long[] squeezedShape(OnnxNode n, long[] shape, long[] axes) {
        boolean[] drop = new boolean[shape.length];
        if (axes == null) {
            for (int i = 0; i < shape.length; i++) {
                drop[i] = shape[i] == 1;
            }
        } else {
            for (long ax : axes) {
                int k = (int) normalizeAxis(n, ax, shape.length);
                if (shape[k] != 1) {
                    throw n.error("Squeeze axis " + ax + " has size " + shape[k] + ", not 1");
                }
                drop[k] = true;
            }
        }
        List<Long> kept = new ArrayList<>();
        for (int i = 0; i < shape.length; i++) {
            if (!drop[i]) {
                kept.add(shape[i]);
            }
        }
        return kept.stream().mapToLong(Long::longValue).toArray();
    }

    /** Shape of {@code Unsqueeze(shape, axes)}. */
    static long[] unsqueezedShape(OnnxNode n, long[] shape, long[] axes) {
        int outRank = shape.length + axes.length;
        boolean[] inserted = new boolean[outRank];
        for (long ax : axes) {
            int k = (int) normalizeAxis(n, ax, outRank);
            if (inserted[k]) {
                throw n.error("Unsqueeze axis " + ax + " repeated");
            }
            inserted[k] = true;
        }
        long[] out = new long[outRank];
        for (int i = 0, j = 0; i < outRank; i++) {
            out[i] = inserted[i] ? 1 : shape[j++];
        }
        return out;
    }

    static INDArray concat(OnnxNode n, List<INDArray> parts, long axis) {
        boolean integer = parts.stream().allMatch(ShapeArithmetic::isInteger);
        int rank = parts.get(0).rank();
        if (rank == 0) {
            throw n.error("Concat of scalars");
        }
        int ax = (int) normalizeAxis(n, axis, rank);
        if (rank == 1) {
            List<Long> longs = new ArrayList<>();
            List<Double> reals = new ArrayList<>();
            for (INDArray p : parts) {
                if (p.rank() != 1) {
                    throw n.error("Concat of values of different ranks");
                }
                for (long i = 0; i < p.length(); i++) {
                    if (integer) {
                        longs.add(p.getLong(i));
                    } else {
                        reals.add(p.getDouble(i));
                    }
                }
            }
            return integer
                    ? TensorDecoder.longs(longs.stream().mapToLong(Long::longValue).toArray(), new long[] {longs.size()})
                    : reals(reals.stream().mapToDouble(Double::doubleValue).toArray(), new long[] {reals.size()});
        }
        DataType t = integer ? DataType.LONG : DataType.FLOAT;
        INDArray[] cast = parts.stream().map(p -> p.castTo(t)).toArray(INDArray[]::new);
        return Nd4j.concat(ax, cast);
    }

    /** ONNX Cast: real targets give FLOAT, integer and boolean targets give LONG. */
    static INDArray cast(OnnxNode n, INDArray a, long to) {
        TensorProto.DataType type = TensorProto.DataType.forNumber((int) to);
        if (type == null) {
            throw n.error("Cast to unknown type " + to);
        }
        switch (type) {
            case FLOAT, DOUBLE, FLOAT16, BFLOAT16 -> {
                if (isInteger(a)) {
                    requireNoBatch(n, a);
                }
                return a.castTo(DataType.FLOAT);
            }
            case INT64, INT32, INT16, INT8, UINT8, UINT16, UINT32, UINT64, BOOL -> {
                if (isInteger(a)) {
                    return a;
                }
                long[] v = new long[(int) a.length()];
                for (int i = 0; i < v.length; i++) {
                    double d = a.getDouble(i);
                    v[i] = type == TensorProto.DataType.BOOL ? (d != 0 ? 1 : 0) : (long) d;
                }
                return TensorDecoder.longs(v, a.shape());
            }
            default -> throw n.error("Cast to " + type + " is not supported");
        }
    }

    /** ONNX Slice of a host value (starts, ends, axes, steps as in opset 10+). */
    static INDArray slice(OnnxNode n, INDArray data, long[] starts, long[] ends, long[] axes, long[] steps) {
        if (starts.length != ends.length || axes != null && axes.length != starts.length
                || steps != null && steps.length != starts.length || data.rank() == 0) {
            throw n.error("Slice with mismatched starts/ends/axes/steps");
        }
        long[][] picks = allIndices(data.shape());
        for (int k = 0; k < starts.length; k++) {
            int ax = (int) normalizeAxis(n, axes == null ? k : axes[k], data.rank());
            long step = steps == null ? 1 : steps[k];
            if (step == 0) {
                throw n.error("Slice step 0");
            }
            long d = data.size(ax);
            long s = clampSliceBound(starts[k], d, step);
            long e = clampSliceBound(ends[k], d, step);
            List<Long> idx = new ArrayList<>();
            for (long i = s; step > 0 ? i < e : i > e; i += step) {
                idx.add(i);
            }
            picks[ax] = idx.stream().mapToLong(Long::longValue).toArray();
        }
        return take(data, picks);
    }

    /** ONNX Transpose of a host value; {@code perm == null} reverses the axes. */
    static INDArray transpose(OnnxNode n, INDArray a, long[] perm) {
        int[] p = new int[a.rank()];
        for (int i = 0; i < p.length; i++) {
            p[i] = perm == null ? p.length - 1 - i : (int) normalizeAxis(n, perm[i], p.length);
        }
        if (perm != null && perm.length != p.length) {
            throw n.error("Transpose perm " + Arrays.toString(perm) + " for rank " + p.length);
        }
        return a.permute(p).dup('c');
    }

    /** Most values an op evaluated at import may make (shape arithmetic needs a handful). */
    static final long MAX_HOST_VALUES = 1 << 24;

    /** ONNX ConstantOfShape: {@code shape} filled with the single value of {@code fill}. */
    static INDArray constantOfShape(OnnxNode n, long[] shape, INDArray fill) {
        if (fill.length() != 1) {
            throw n.error("ConstantOfShape value must hold one element");
        }
        long count = 1;
        for (long d : shape) {
            if (d < 0 || d > MAX_HOST_VALUES || (count *= d) > MAX_HOST_VALUES) {
                throw n.error("ConstantOfShape of shape " + Arrays.toString(shape) + " (at most " + MAX_HOST_VALUES
                        + " values are evaluated at import)");
            }
        }
        if (isInteger(fill)) {
            long[] v = new long[(int) count];
            Arrays.fill(v, fill.getLong(0));
            return TensorDecoder.longs(v, shape);
        }
        double[] v = new double[(int) count];
        Arrays.fill(v, fill.getDouble(0));
        return reals(v, shape);
    }

    /** Add, Sub, Mul, Div of host values of equal shape, or with one side a single value. */
    static INDArray elementwise(OnnxNode n, INDArray a, INDArray b) {
        String op = n.opType();
        long[] shape;
        if (Arrays.equals(a.shape(), b.shape()) || b.length() == 1 && a.rank() >= b.rank()) {
            shape = a.shape();
        } else if (a.length() == 1 && b.rank() >= a.rank()) {
            shape = b.shape();
        } else {
            throw n.error(op + " of constants of shapes " + Arrays.toString(a.shape()) + " and "
                    + Arrays.toString(b.shape()) + " is not supported");
        }
        int len = (int) Arrays.stream(shape).reduce(1, (x, y) -> x * y);
        if (isInteger(a) && isInteger(b)) {
            requireNoBatch(n, a);
            requireNoBatch(n, b);
            long[] out = new long[len];
            for (int i = 0; i < len; i++) {
                long x = a.getLong(a.length() == 1 ? 0 : i);
                long y = b.getLong(b.length() == 1 ? 0 : i);
                out[i] = switch (op) {
                    case "Add" -> x + y;
                    case "Sub" -> x - y;
                    case "Mul" -> x * y;
                    default -> {
                        if (y == 0) {
                            throw n.error("integer division by zero");
                        }
                        yield x / y;
                    }
                };
            }
            return TensorDecoder.longs(out, shape);
        }
        if (isInteger(a)) {
            requireNoBatch(n, a);
        }
        if (isInteger(b)) {
            requireNoBatch(n, b);
        }
        double[] out = new double[len];
        for (int i = 0; i < len; i++) {
            double x = a.getDouble(a.length() == 1 ? 0 : i);
            double y = b.getDouble(b.length() == 1 ? 0 : i);
            out[i] = switch (op) {
                case "Add" -> x + y;
                case "Sub" -> x - y;
                case "Mul" -> x * y;
                default -> x / y;
            };
        }
        return reals(out, shape);
    }

    /**
     * Resolves a Reshape target against a fully known input shape: 0 copies the input dim, one -1
     * takes what is left.
     */
    static long[] resolveReshape(OnnxNode n, long[] input, long[] target) {
        long total = Arrays.stream(input).reduce(1, (x, y) -> x * y);
        long[] out = target.clone();
        int infer = -1;
        long known = 1;
        for (int i = 0; i < out.length; i++) {
            if (out[i] == 0) {
                if (i >= input.length) {
                    throw n.error("Reshape target " + Arrays.toString(target) + " copies dim " + i
                            + " of a rank-" + input.length + " input");
                }
                out[i] = input[i];
            }
            if (out[i] == -1) {
                if (infer >= 0) {
                    throw n.error("Reshape target " + Arrays.toString(target) + " has more than one -1");
                }
                infer = i;
            } else if (out[i] < 0) {
                throw n.error("Reshape target " + Arrays.toString(target) + " has a negative dim");
            } else {
                known *= out[i];
            }
        }
        if (infer >= 0) {
            if (known == 0 || total % known != 0) {
                throw n.error("Reshape of " + Arrays.toString(input) + " to " + Arrays.toString(target) + " is impossible");
            }
            out[infer] = total / known;
        } else if (known != total) {
            throw n.error("Reshape of " + Arrays.toString(input) + " to " + Arrays.toString(target) + " is impossible");
        }
        return out;
    }

    static INDArray reshapeExact(INDArray a, long[] shape) {
        return shape.length == 0 ? a.reshape() : a.reshape(shape);
    }

    static long normalizeAxis(OnnxNode n, long axis, int rank) {
        long a = axis < 0 ? axis + rank : axis;
        if (a < 0 || a >= rank) {
            throw n.error("axis " + axis + " is out of range for rank " + rank);
        }
        return a;
    }

    static boolean isInteger(INDArray a) {
        return !a.dataType().isFPType();
    }

    /** All values of a host array in row-major order. */
    static long[] values(INDArray a) {
        long[] v = new long[(int) a.length()];
        for (int i = 0; i < v.length; i++) {
            v[i] = a.getLong(i);
        }
        return v;
    }

    static void requireNoBatch(OnnxNode n, INDArray a) {
        if (isInteger(a)) {
            for (long v : values(a)) {
                if (v == BATCH) {
                    throw n.error("computes with the batch size, which is unknown at import; "
                            + "export the model with a fixed batch or flatten with Flatten/view(-1, features)");
                }
            }
        }
    }

    /**
     * The sub-array with, along each axis k, the entries {@code picks[k]} in that order (so it also
     * reverses and gathers); shape [picks[0].length, ...].
     */
    private static INDArray take(INDArray a, long[][] picks) {
        int rank = picks.length;
        long[] shape = new long[rank];
        int count = 1;
        for (int k = 0; k < rank; k++) {
            shape[k] = picks[k].length;
            count *= picks[k].length;
        }
        long[] pos = new long[rank];
        long[] src = new long[rank];
        long[] longs = new long[count];
        double[] reals = new double[count];
        boolean integer = isInteger(a);
        for (int i = 0; i < count; i++) {
            long rem = i;
            for (int k = rank - 1; k >= 0; k--) {
                pos[k] = rem % shape[k];
                rem /= shape[k];
                src[k] = picks[k][(int) pos[k]];
            }
            if (integer) {
                longs[i] = a.getLong(src);
            } else {
                reals[i] = a.getDouble(src);
            }
        }
        return integer ? TensorDecoder.longs(longs, shape) : reals(reals, shape);
    }

    private static long[][] allIndices(long[] shape) {
        long[][] picks = new long[shape.length][];
        for (int k = 0; k < shape.length; k++) {
            picks[k] = new long[(int) shape[k]];
            for (int i = 0; i < shape[k]; i++) {
                picks[k][i] = i;
            }
        }
        return picks;
    }

    /** ONNX Slice's clamping of a start or end: negative counts from the end, then into range. */
    static long clampSliceBound(long v, long size, long step) {
        long k = v < 0 ? Math.max(v, -size - 1) + size : v;
        return step > 0 ? Math.max(0, Math.min(k, size)) : Math.max(-1, Math.min(k, size - 1));
    }

    private static long clampIndex(long i, int rank) {
        long k = i < 0 ? i + rank : i;
        return Math.max(0, Math.min(k, rank));
    }

    private static INDArray reals(double[] v, long[] shape) {
        INDArray a = Nd4j.createFromArray(v).castTo(DataType.FLOAT);
        return reshapeExact(a, shape);
    }
}
