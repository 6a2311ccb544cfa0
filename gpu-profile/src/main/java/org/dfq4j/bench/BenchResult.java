package org.dfq4j.bench;

import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * One benchmark run: FP32 and 8-bit-simulated throughput (median, min and max over timed runs after
 * warm-up), the DFQ pipeline's own time (float rewrites and weight quantization), the time to build
 * the 8-bit simulation (activation ranges included), peak memory, and where it ran; the layout the
 * networks ran in, the machine's measured peak, the FP32 network's layer FLOPs per image, and the
 * median latency of one image. Results written before those were recorded read back with NaN there.
 */
record BenchResult(String model, String backend, String device, int threads, int batch, int runs,
                   Throughput fp32, Throughput int8, double pipelineSeconds, double quantizeSeconds, String pipeline,
                   long peakPhysicalBytes, long peakHeapBytes, Map<String, List<Map<String, Object>>> profile,
                   String layout, MachinePeak peak, double fp32FlopsPerImage, double fp32LatencyMs,
                   double int8LatencyMs) {

    /** The FP32 network's achieved rate in GFLOP/s (its layers' FLOPs times images per second). */
    double fp32Gflops() {
        return fp32FlopsPerImage * fp32.median() / 1e9;
    }

    /** {@link #fp32Gflops()} as a fraction of the measured matrix-product peak. */
    double fp32OfPeak() {
        return fp32Gflops() / peak.gflops();
    }

    /** Images per second over the timed runs. */
    record Throughput(double median, double min, double max) {
        static Throughput of(int batch, double[] seconds) {
            double[] ips = new double[seconds.length];
            for (int i = 0; i < seconds.length; i++) {
                ips[i] = batch / seconds[i];
            }
            java.util.Arrays.sort(ips);
            int n = ips.length;
            double median = n % 2 == 1 ? ips[n / 2] : (ips[n / 2 - 1] + ips[n / 2]) / 2;
            return new Throughput(median, ips[0], ips[n - 1]);
        }
    }

    double int8OverFp32() {
        return int8.median() / fp32.median();
    }

    Map<String, Object> toMap() {
        Map<String, Object> m = new LinkedHashMap<>();
        m.put("model", model);
        m.put("backend", backend);
        m.put("device", device);
        m.put("threads", threads);
        m.put("batch", batch);
        m.put("runs", runs);
        m.put("fp32ImagesPerSecond", fp32.median());
        m.put("fp32ImagesPerSecondMin", fp32.min());
        m.put("fp32ImagesPerSecondMax", fp32.max());
        m.put("int8ImagesPerSecond", int8.median());
        m.put("int8ImagesPerSecondMin", int8.min());
        m.put("int8ImagesPerSecondMax", int8.max());
        m.put("int8OverFp32", int8OverFp32());
        m.put("pipelineSeconds", pipelineSeconds);
        m.put("quantizeSeconds", quantizeSeconds);
        m.put("pipeline", pipeline);
        m.put("peakPhysicalBytes", peakPhysicalBytes);
        m.put("peakHeapBytes", peakHeapBytes);
        m.put("layout", layout);
        m.put("peakGflops", peak.gflops());
        m.put("peakCopyGbytes", peak.gbytes());
        m.put("peakProbe", peak.method());
        m.put("fp32FlopsPerImage", fp32FlopsPerImage);
        m.put("fp32Gflops", fp32Gflops());
        m.put("fp32LatencyMs", fp32LatencyMs);
        m.put("int8LatencyMs", int8LatencyMs);
        if (profile != null && !profile.isEmpty()) {
            m.put("profile", profile);
        }
        return m;
    }

    @SuppressWarnings("unchecked")
    static BenchResult fromMap(Map<String, Object> m, String source) {
        try {
            return new BenchResult((String) m.get("model"), (String) m.get("backend"), (String) m.get("device"),
                    num(m, "threads").intValue(), num(m, "batch").intValue(), num(m, "runs").intValue(),
                    new Throughput(num(m, "fp32ImagesPerSecond").doubleValue(), num(m, "fp32ImagesPerSecondMin").doubleValue(),
                            num(m, "fp32ImagesPerSecondMax").doubleValue()),
                    new Throughput(num(m, "int8ImagesPerSecond").doubleValue(), num(m, "int8ImagesPerSecondMin").doubleValue(),
                            num(m, "int8ImagesPerSecondMax").doubleValue()),
                    num(m, "pipelineSeconds").doubleValue(), num(m, "quantizeSeconds").doubleValue(),
                    (String) m.get("pipeline"),
                    num(m, "peakPhysicalBytes").longValue(), num(m, "peakHeapBytes").longValue(),
                    (Map<String, List<Map<String, Object>>>) m.get("profile"),
                    m.get("layout") instanceof String l ? l : "not recorded",
                    new MachinePeak(optional(m, "peakGflops"), optional(m, "peakCopyGbytes"),
                            m.get("peakProbe") instanceof String p ? p : "not recorded"),
                    optional(m, "fp32FlopsPerImage"), optional(m, "fp32LatencyMs"), optional(m, "int8LatencyMs"));
        } catch (ClassCastException | NullPointerException e) {
            throw new org.dfq4j.rewrite.DfqException(source + " is not a dfq bench result (" + e.getMessage()
                    + "); write one with dfq bench --json PATH");
        }
    }

    /** A number recorded by newer versions only: NaN when absent. */
    private static double optional(Map<String, Object> m, String key) {
        return m.get(key) instanceof Number n ? n.doubleValue() : Double.NaN;
    }

    private static Number num(Map<String, Object> m, String key) {
        Object v = m.get(key);
        if (!(v instanceof Number n)) {
            throw new NullPointerException("missing number '" + key + "'");
        }
        return n;
    }
}
