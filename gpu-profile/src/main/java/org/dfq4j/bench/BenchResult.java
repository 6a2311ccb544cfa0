package org.dfq4j.bench;

import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * One benchmark run: FP32 and 8-bit-simulated throughput (median, min and max over timed runs after
 * warm-up), the DFQ pipeline's own time (float rewrites and weight quantization), the time to build
 * the 8-bit simulation (activation ranges included), peak memory, and where it ran; with ONNX
 * Runtime, every network timed ({@link #runtimes}, ND4J's two first).
 */
record BenchResult(String model, String backend, String device, int threads, int batch, int runs,
                   Throughput fp32, Throughput int8, double pipelineSeconds, double quantizeSeconds, String pipeline,
                   long peakPhysicalBytes, long peakHeapBytes, Map<String, List<Map<String, Object>>> profile,
                   List<RuntimeThroughput> runtimes) {

    /** One network timed on one runtime (ND4J, or ONNX Runtime with --runtime onnxruntime) in the same run. */
    record RuntimeThroughput(String runtime, String network, Throughput throughput) {
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
        if (profile != null && !profile.isEmpty()) {
            m.put("profile", profile);
        }
        if (!runtimes.isEmpty()) {
            List<Map<String, Object>> rows = new java.util.ArrayList<>();
            for (RuntimeThroughput r : runtimes) {
                Map<String, Object> row = new LinkedHashMap<>();
                row.put("runtime", r.runtime());
                row.put("network", r.network());
                row.put("imagesPerSecond", r.throughput().median());
                row.put("imagesPerSecondMin", r.throughput().min());
                row.put("imagesPerSecondMax", r.throughput().max());
                rows.add(row);
            }
            m.put("runtimes", rows);
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
                    (Map<String, List<Map<String, Object>>>) m.get("profile"), runtimes(m));
        } catch (ClassCastException | NullPointerException e) {
            throw new org.dfq4j.rewrite.DfqException(source + " is not a dfq bench result (" + e.getMessage()
                    + "); write one with dfq bench --json PATH");
        }
    }

    @SuppressWarnings("unchecked")
    private static List<RuntimeThroughput> runtimes(Map<String, Object> m) {
        List<RuntimeThroughput> out = new java.util.ArrayList<>();
        if (m.get("runtimes") instanceof List<?> rows) {
            for (Object o : rows) {
                Map<String, Object> r = (Map<String, Object>) o;
                out.add(new RuntimeThroughput((String) r.get("runtime"), (String) r.get("network"), new Throughput(
                        num(r, "imagesPerSecond").doubleValue(), num(r, "imagesPerSecondMin").doubleValue(),
                        num(r, "imagesPerSecondMax").doubleValue())));
            }
        }
        return out;
    }

    private static Number num(Map<String, Object> m, String key) {
        Object v = m.get(key);
        if (!(v instanceof Number n)) {
            throw new NullPointerException("missing number '" + key + "'");
        }
        return n;
    }
}
