package org.dfq4j.rewrite.graph;

import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import org.nd4j.autodiff.samediff.internal.memory.AbstractMemoryMgr;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.api.shape.LongShapeDescriptor;
import org.nd4j.linalg.factory.Nd4j;

/**
 * A SameDiff session memory manager that hands the op outputs of one forward pass to the next.
 *
 * <p>SameDiff 1.0.0-M2.1 allocates a fresh native buffer for every op output of every pass and
 * frees nothing until the Java collector runs: on MobileNetV2 at batch 32 about half of a pass went
 * to page-faulting new memory. A network's passes allocate the same shapes in the same order, so
 * after a pass (its outputs copied out) every array it allocated is offered again to the next one.
 *
 * <p>Safety rests on two rules kept by {@link Network}: nothing allocated here leaves a pass
 * (the requested values are copied), and {@link #recycle()} runs only between passes. SameDiff's own
 * {@code release} calls during a pass are ignored. Arrays not asked for again by the next pass are
 * dropped (left to the collector), so the pool never holds more than one pass's worth of memory.
 */
final class ArrayRecycler extends AbstractMemoryMgr {

    private record Key(DataType type, List<Long> shape) {
        static Key of(DataType type, long[] shape) {
            return new Key(type, Arrays.stream(shape).boxed().toList());
        }
    }

    private Map<Key, ArrayDeque<INDArray>> free = new HashMap<>();
    private final List<INDArray> handedOut = new ArrayList<>();
    private long allocated;
    private long reused;

    @Override
    public INDArray allocate(boolean detached, DataType dataType, long... shape) {
        return take(dataType, shape);
    }

    @Override
    public INDArray allocate(boolean detached, LongShapeDescriptor descriptor) {
        // always C order, as SameDiff's own managers do: some ops ask for 'f' (xw_plus_b) and
        // then write C-ordered results (measured: a BatchNorm after a dense layer went wrong)
        return take(descriptor.dataType(), descriptor.getShape());
    }

    private INDArray take(DataType type, long[] shape) {
        ArrayDeque<INDArray> q = free.get(Key.of(type, shape));
        INDArray a;
        if (q != null && !q.isEmpty()) {
            a = q.pop();
            reused++;
        } else {
            a = Nd4j.createUninitialized(type, shape, 'c');
            allocated++;
        }
        handedOut.add(a);
        return a;
    }

    @Override
    public void release(INDArray array) {
        // recycled between passes only (see the class comment)
    }

    /** Offers every array of the pass that just ended to the next one; drops what this pass did not reuse. */
    void recycle() {
        Map<Key, ArrayDeque<INDArray>> next = new HashMap<>();
        for (INDArray a : handedOut) {
            if (!a.isEmpty() && !a.wasClosed()) {
                next.computeIfAbsent(Key.of(a.dataType(), a.shape()), k -> new ArrayDeque<>()).push(a);
            }
        }
        handedOut.clear();
        free = next;
    }

    /** Arrays newly allocated and arrays reused, over the recycler's life. */
    long[] counts() {
        return new long[] {allocated, reused};
    }

    @Override
    public void close() {
        free.clear();
        handedOut.clear();
    }
}
