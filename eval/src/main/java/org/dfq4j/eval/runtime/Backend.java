package org.dfq4j.eval.runtime;

import java.util.List;
import java.util.Map;
import java.util.Properties;
import org.dfq4j.rewrite.DfqException;
import org.dfq4j.rewrite.graph.Network;
import org.dfq4j.rewrite.graph.SliceWorkers;
import org.nd4j.linalg.factory.Nd4j;

/**
 * Which ND4J backend the classpath loaded (CPU or CUDA), and on what device. The backend is chosen
 * by the jar on the classpath (ServiceLoader), never by code: the Maven profile -Pcuda swaps it.
 */
public record Backend(String name, String device, int threads, boolean onednn) {

    /**
     * The backend in use. A backend that cannot start (the CUDA jar on the classpath but no GPU or
     * driver) is a one-line {@link DfqException} naming the cause, not a stack trace.
     */
    public static Backend current() {
        Properties env;
        // A backend that fails to load prints its own stack traces; hold stderr until we know.
        java.io.PrintStream realErr = System.err;
        java.io.ByteArrayOutputStream held = new java.io.ByteArrayOutputStream();
        boolean ok = false;
        try {
            System.setErr(new java.io.PrintStream(held, true));
            env = Nd4j.getExecutioner().getEnvironmentInformation();
            ok = true;
        } catch (RuntimeException | LinkageError e) {
            Throwable root = e;
            while (root.getCause() != null) {
                root = root.getCause();
            }
            if (root instanceof OutOfMemoryError) {
                throw e; // too little heap to start ND4J at all, not a missing GPU: the CLI says so
            }
            String cause = root.getMessage() == null ? root.getClass().getSimpleName() : root.getMessage();
            throw new DfqException("no usable ND4J backend (" + cause.lines().findFirst().orElse("") + "): a -Pcuda "
                    + "build needs an NVIDIA GPU with its driver (libcuda.so.1); rebuild without -Pcuda to run on the CPU", e);
        } finally {
            System.setErr(realErr);
            if (ok) {
                realErr.print(held.toString());
            }
        }
        String backend = String.valueOf(env.getOrDefault("backend", "unknown"));
        boolean cuda = backend.toUpperCase().contains("CUDA");
        Object ops = nativeOps();
        int threads = ops != null ? (Integer) call(ops, "ompGetMaxThreads")
                : parseInt(env.get("omp.threads"), Runtime.getRuntime().availableProcessors());
        String device;
        if (cuda) {
            device = cudaDevice(env);
        } else {
            device = cpuModel() + ", " + threads + " threads";
        }
        Object info = ops == null ? null : call(ops, "buildInfo");
        boolean onednn = info != null && (info.toString().contains("HAVE_ONEDNN") || info.toString().contains("HAVE_MKLDNN"));
        return new Backend(cuda ? "CUDA" : "CPU", device, threads, onednn);
    }

    /**
     * The backend's native ops, or null where it has none to offer. They live in the backend jar,
     * which this module sees only at run time.
     */
    private static Object nativeOps() {
        try {
            Object holder = Class.forName("org.nd4j.nativeblas.NativeOpsHolder").getMethod("getInstance").invoke(null);
            return holder.getClass().getMethod("getDeviceNativeOps").invoke(holder);
        } catch (ReflectiveOperationException | RuntimeException | LinkageError e) {
            return null;
        }
    }

    private static Object call(Object ops, String method, Object... args) {
        try {
            Class<?>[] types = new Class<?>[args.length];
            java.util.Arrays.fill(types, int.class);
            return ops.getClass().getMethod(method, types).invoke(ops, args);
        } catch (ReflectiveOperationException | RuntimeException | LinkageError e) {
            throw new DfqException("this ND4J backend cannot " + method + ": " + e, e);
        }
    }

    /**
     * Runs ND4J on {@code threads} threads and returns the backend so set: the threads of ND4J's own
     * parallel loops (elementwise and reduction ops: its "master threads"; its "max threads" setter
     * does nothing in 1.0.0-M2.1), OpenMP's (oneDNN's convolutions and matrix products) and the
     * BLAS library's. ND4J's environment settings alone leave OpenMP at one thread per core: with
     * them set to one thread, a oneDNN 1x1 convolution still kept two cores busy.
     */
    public static Backend useThreads(int threads) {
        if (threads < 1) {
            throw new DfqException("--threads must be at least 1, got " + threads);
        }
        Nd4j.getEnvironment().setMaxMasterThreads(threads);
        Nd4j.factory().blas().setMaxThreads(threads);
        Object ops = nativeOps();
        if (ops != null) {
            call(ops, "setOmpNumThreads", threads);
        }
        return current();
    }

    /**
     * Threads that run a batch's slices side by side ({@link Network#setSliceWorkers}), each with
     * single-threaded OpenMP kernels (OpenMP's thread count is a per-thread setting, so the caller's
     * own thread, which runs batches of one slice, keeps {@link #useThreads}' count).
     */
    public static SliceWorkers sliceWorkers(int threads) {
        Object ops = nativeOps();
        return new SliceWorkers(threads, () -> {
            if (ops != null) {
                call(ops, "setOmpNumThreads", 1);
            }
        });
    }

    private static String cudaDevice(Properties env) {
        Object devices = env.get("cuda.devicesInformation");
        if (devices instanceof List<?> list && !list.isEmpty() && list.get(0) instanceof Map<?, ?> m) {
            Object name = m.get("cuda.deviceName");
            Object mem = m.get("cuda.totalMemory");
            String memory = mem instanceof Number n ? String.format(", %.1f GiB", n.doubleValue() / (1L << 30)) : "";
            return (name == null ? "GPU" : name.toString()) + memory;
        }
        return "GPU";
    }

    private static String cpuModel() {
        try {
            for (String line : java.nio.file.Files.readAllLines(java.nio.file.Path.of("/proc/cpuinfo"))) {
                if (line.startsWith("model name")) {
                    return line.substring(line.indexOf(':') + 1).trim();
                }
            }
        } catch (java.io.IOException | RuntimeException e) {
            // not Linux: fall through
        }
        return System.getProperty("os.arch");
    }

    private static int parseInt(Object o, int dflt) {
        try {
            return o == null ? dflt : Integer.parseInt(o.toString());
        } catch (NumberFormatException e) {
            return dflt;
        }
    }

    /** One line for the top of every command's output. */
    public String describe() {
        return "backend: " + name + (onednn ? " (oneDNN)" : "") + " on " + device;
    }
}
