package org.dfq4j.rewrite.graph;

import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.Callable;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * Threads that run a batch's slices side by side, each slice on one thread with single-threaded
 * kernels ({@link Network#setSliceWorkers}), instead of one slice after another with every kernel
 * split across the cores.
 *
 * <p>Why: a kernel split across threads ends in a barrier, and a pass of MobileNetV2 in slices of 8
 * is about 250 kernels per slice; on a machine shared with other processes a barrier waits for
 * whichever thread was descheduled, and small layers split poorly. Slices on threads of their own
 * share nothing until their outputs are joined.
 *
 * <p>Each thread runs {@code threadSetup} once when it starts: the caller makes the thread's kernels
 * single-threaded there (for ND4J's CPU backend, OpenMP's thread count is a per-thread setting). The
 * threads are daemons: an unclosed pool does not keep the JVM alive.
 */
public final class SliceWorkers implements AutoCloseable {

    private static final AtomicInteger POOLS = new AtomicInteger();

    private final int threads;
    private final ExecutorService pool;

    /** {@code threads} worker threads, each running {@code threadSetup} first. */
    public SliceWorkers(int threads, Runnable threadSetup) {
        if (threads < 1) {
            throw new IllegalArgumentException("slice workers need at least one thread, got " + threads);
        }
        this.threads = threads;
        int id = POOLS.incrementAndGet();
        AtomicInteger n = new AtomicInteger();
        this.pool = Executors.newFixedThreadPool(threads, r -> {
            Thread t = new Thread(() -> {
                threadSetup.run();
                r.run();
            }, "dfq-slices-" + id + "-" + n.incrementAndGet());
            t.setDaemon(true);
            return t;
        });
    }

    /** The number of threads. */
    public int threads() {
        return threads;
    }

    /** Runs the tasks on the workers and returns their results in order; a task's failure is rethrown. */
    public <T> List<T> runAll(List<Callable<T>> tasks) {
        List<Future<T>> futures = new ArrayList<>();
        for (Callable<T> t : tasks) {
            futures.add(pool.submit(t));
        }
        List<T> out = new ArrayList<>();
        try {
            for (Future<T> f : futures) {
                out.add(f.get());
            }
        } catch (InterruptedException e) {
            futures.forEach(f -> f.cancel(true));
            Thread.currentThread().interrupt();
            throw new IllegalStateException("interrupted while slices ran", e);
        } catch (ExecutionException e) {
            futures.forEach(f -> f.cancel(true));
            if (e.getCause() instanceof RuntimeException r) {
                throw r;
            }
            if (e.getCause() instanceof Error err) {
                throw err;
            }
            throw new IllegalStateException(e.getCause());
        }
        return out;
    }

    @Override
    public void close() {
        pool.shutdown();
    }
}
