package org.dfq4j.eval.data;

import java.io.PrintStream;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.List;
import java.util.NoSuchElementException;
import java.util.concurrent.CancellationException;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.BiConsumer;
import java.util.function.Function;
import org.dfq4j.eval.image.Preprocessing;
import org.dfq4j.eval.image.RgbDecoder;
import org.dfq4j.rewrite.DfqException;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.factory.Nd4j;

/**
 * Batches of photographs decoded in the background with bounded memory: while the caller works
 * on batch k, batch k+1 is decoded by a small pool of daemon threads (one prefetched batch; at most
 * two batches of floats exist at a time). Decoding runs only Java2D and plain arrays; the
 * INDArray is created on the caller's thread.
 *
 * <p>Close it (try-with-resources) to stop the decoding threads early; a decoding error is
 * rethrown by {@link #next()} as the {@link DfqException} naming the file.
 */
public final class ImageBatches implements Iterator<ImageBatch>, AutoCloseable {

    private static final AtomicInteger POOL_COUNT = new AtomicInteger();

    private final List<Path> files;
    private final Preprocessing preprocessing;
    private final int height;
    private final int width;
    private final int batchSize;
    private final ExecutorService pool;
    private org.dfq4j.eval.report.ProgressBar bar;
    private int delivered;
    private Pending pending;

    /** A batch being decoded: one task per photograph, each filling its slice of {@code data}. */
    private record Pending(int start, int count, float[] data, List<Future<?>> tasks) {
    }

    /** How long a pass over photographs took: all of it, and inside the model. */
    public record Timing(double wallSeconds, double forwardSeconds) {
    }

    /**
     * The one batch loop of the evaluators: decodes {@code files} in batches (with a progress line),
     * runs {@code forward} on each (timed as the model's time, copying its result to the host
     * included) and hands the result to {@code use}.
     */
    public static <T> Timing run(List<Path> files, Preprocessing preprocessing, long[] inputShape, int batchSize,
                                 int decodeThreads, PrintStream progress, Function<ImageBatch, T> forward,
                                 BiConsumer<ImageBatch, T> use) {
        long forwardNanos = 0;
        long start = System.nanoTime();
        try (ImageBatches batches = new ImageBatches(files, preprocessing, inputShape, batchSize, decodeThreads)
                .withProgress(progress)) {
            while (batches.hasNext()) {
                ImageBatch batch = batches.next();
                long f0 = System.nanoTime();
                T out = forward.apply(batch);
                forwardNanos += System.nanoTime() - f0;
                use.accept(batch, out);
            }
        }
        return new Timing((System.nanoTime() - start) / 1e9, forwardNanos / 1e9);
    }

    /** The checks every consumer of batches makes up front: a [3, H, W] input and a batch of at least 1. */
    public static void checkShapeAndBatch(long[] inputShape, int batchSize) {
        Preprocessing.checkInputShape(inputShape);
        if (batchSize < 1) {
            throw new DfqException("batch size must be at least 1, got " + batchSize);
        }
    }

    /**
     * @param files photographs in the order they are batched
     * @param inputShape the model's [C, H, W] (C must be 3)
     * @param batchSize photographs per batch (the last batch may be smaller)
     * @param decodeThreads threads decoding photographs of the prefetched batch in parallel
     */
    public ImageBatches(List<Path> files, Preprocessing preprocessing, long[] inputShape, int batchSize,
                        int decodeThreads) {
        checkShapeAndBatch(inputShape, batchSize);
        if (decodeThreads < 1) {
            throw new IllegalArgumentException("decodeThreads must be >= 1, got " + decodeThreads);
        }
        this.files = List.copyOf(files);
        this.preprocessing = preprocessing;
        this.height = (int) inputShape[1];
        this.width = (int) inputShape[2];
        this.batchSize = batchSize;
        int id = POOL_COUNT.incrementAndGet();
        AtomicInteger thread = new AtomicInteger();
        this.pool = Executors.newFixedThreadPool(decodeThreads, r -> {
            Thread t = new Thread(r, "dfq-decode-" + id + "-" + thread.incrementAndGet());
            t.setDaemon(true);
            return t;
        });
        this.pending = this.files.isEmpty() ? null : submit(0);
    }

    /** A thread count for decoding that leaves most cores to the network: 1..4. */
    public static int defaultDecodeThreads() {
        return Math.max(1, Math.min(4, Runtime.getRuntime().availableProcessors() / 2));
    }

    /** Number of batches in total. */
    public int batchCount() {
        return (files.size() + batchSize - 1) / batchSize;
    }

    private Pending submit(int start) {
        int count = Math.min(batchSize, files.size() - start);
        int plane = Preprocessing.CHANNELS * height * width;
        float[] data = new float[count * plane];
        List<Future<?>> tasks = new ArrayList<>(count);
        for (int i = 0; i < count; i++) {
            Path file = files.get(start + i);
            int offset = i * plane;
            tasks.add(pool.submit(() -> preprocessing.writeChw(RgbDecoder.read(file), height, width, data, offset)));
        }
        return new Pending(start, count, data, tasks);
    }

    @Override
    public boolean hasNext() {
        return pending != null;
    }

    /**
     * The next batch; starts decoding the one after it before returning.
     *
     * @throws DfqException naming the photograph that could not be decoded
     */
    @Override
    public ImageBatch next() {
        if (pending == null) {
            throw new NoSuchElementException("no more batches");
        }
        if (bar != null && delivered > 0) {
            bar.update(delivered);
        }
        Pending current = pending;
        delivered += current.count;
        int nextStart = current.start + current.count;
        pending = nextStart < files.size() ? submit(nextStart) : null;
        for (Future<?> f : current.tasks) {
            await(f);
        }
        long[] shape = {current.count, Preprocessing.CHANNELS, height, width};
        return new ImageBatch(current.start, Nd4j.create(current.data, shape, DataType.FLOAT));
    }

    private void await(Future<?> f) {
        try {
            f.get();
        } catch (ExecutionException e) {
            close();
            if (e.getCause() instanceof DfqException d) {
                throw d;
            }
            throw new DfqException("decoding a photograph failed: " + e.getCause(), e.getCause());
        } catch (InterruptedException e) {
            close();
            Thread.currentThread().interrupt();
            throw new DfqException("interrupted while decoding photographs", e);
        } catch (CancellationException e) {
            throw new IllegalStateException("batches were closed while in use", e);
        }
    }

    /** Stops the decoding threads; later batches are not produced. */
    @Override
    public void close() {
        pending = null;
        pool.shutdownNow();
        if (bar != null) {
            bar.update(delivered);
            bar.finish();
            bar = null;
        }
    }

    /**
     * Shows a progress line on {@code out} (none when null, or when there is only one batch): the
     * photographs handed out before each {@link #next()}, i.e. those the caller has processed, and
     * the total on {@link #close()}.
     */
    public ImageBatches withProgress(java.io.PrintStream out) {
        if (out != null && batchCount() > 1) {
            bar = new org.dfq4j.eval.report.ProgressBar(out, files.size(), "images");
        }
        return this;
    }
}
