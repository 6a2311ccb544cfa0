package org.dfq4j.rewrite.graph;

import java.util.ArrayDeque;
import java.util.Arrays;
import java.util.Collections;
import java.util.HashMap;
import java.util.IdentityHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import org.nd4j.autodiff.samediff.internal.memory.AbstractMemoryMgr;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.api.shape.LongShapeDescriptor;
import org.nd4j.linalg.factory.Nd4j;

/**
 * A SameDiff session memory manager that reuses op output arrays within a forward pass and across
 * passes.
 *
 * <p>SameDiff 1.0.0-M2.1 allocates a fresh native buffer for every op output of every pass and
 * frees nothing until the Java collector runs: on MobileNetV2 at batch 32 about half of a pass went
 * to page-faulting new memory, and a pass held every intermediate tensor at once (about 1 GB).
 * Here an array returns to the pool as soon as the last op of the pass that reads it (or a view of
 * it) has run ({@link PassLiveness} tells it when), so a pass holds only the tensors alive at one
 * time; after the pass (its outputs copied out) every array is offered to the next pass, which
 * allocates the same shapes in the same order.
 *
 * <p>Safety rests on three rules: nothing allocated here leaves a pass (the requested values are
 * copied), {@link #recycle()} runs only between passes, and an array is released within a pass
 * only by {@link #release(INDArray)}'s caller, the liveness listener, which counts every variable
 * that may share its memory. SameDiff's own {@code release} calls are ignored. Arrays not asked for
 * again by the next pass are dropped (left to the collector).
 */
final class ArrayRecycler extends AbstractMemoryMgr {

    private record Key(DataType type, List<Long> shape) {
        static Key of(DataType type, long[] shape) {
            return new Key(type, Arrays.stream(shape).boxed().toList());
        }
    }

    private Map<Key, ArrayDeque<INDArray>> free = new HashMap<>();
    /** Every array handed out in the current pass (each once). */
    private final Set<INDArray> usedThisPass = Collections.newSetFromMap(new IdentityHashMap<>());
    /** Arrays handed out in this pass and not yet given back. */
    private final Set<INDArray> live = Collections.newSetFromMap(new IdentityHashMap<>());
    private long allocated;
    private long reused;
    private long liveBytes;
    private long peakLiveBytes;

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
        usedThisPass.add(a);
        live.add(a);
        liveBytes += bytes(a);
        peakLiveBytes = Math.max(peakLiveBytes, liveBytes);
        return a;
    }

    /** Whether {@code a} is an array this pool handed out in the current pass and has not had back. */
    boolean isLive(INDArray a) {
        return live.contains(a);
    }

    /**
     * Takes an array back within the pass: no op of the pass will read it (or a view of it) again.
     * Only the liveness listener calls this.
     */
    void giveBack(INDArray a) {
        if (live.remove(a)) {
            liveBytes -= bytes(a);
            if (!a.wasClosed()) {
                free.computeIfAbsent(Key.of(a.dataType(), a.shape()), k -> new ArrayDeque<>()).push(a);
            }
        }
    }

    @Override
    public void release(INDArray array) {
        // SameDiff's own release calls are ignored: see the class comment
    }

    /** Offers every array of the pass that just ended to the next one; drops what this pass did not use. */
    void recycle() {
        Map<Key, ArrayDeque<INDArray>> next = new HashMap<>();
        for (INDArray a : usedThisPass) {
            if (!a.isEmpty() && !a.wasClosed()) {
                next.computeIfAbsent(Key.of(a.dataType(), a.shape()), k -> new ArrayDeque<>()).push(a);
            }
        }
        usedThisPass.clear();
        live.clear();
        liveBytes = 0;
        free = next;
    }

    /** Arrays newly allocated and arrays reused, over the recycler's life. */
    long[] counts() {
        return new long[] {allocated, reused};
    }

    /** The most bytes of op outputs alive at once in any pass so far. */
    long peakLiveBytes() {
        return peakLiveBytes;
    }

    /** Bytes held by the pool between passes (every array the last pass used). */
    long pooledBytes() {
        long b = 0;
        for (ArrayDeque<INDArray> q : free.values()) {
            for (INDArray a : q) {
                b += bytes(a);
            }
        }
        for (INDArray a : usedThisPass) {
            b += bytes(a);
        }
        return b;
    }

    private static long bytes(INDArray a) {
        return a.isEmpty() ? 0 : a.length() * a.dataType().width();
    }

    @Override
    public void close() {
        free.clear();
        usedThisPass.clear();
        live.clear();
    }
}
