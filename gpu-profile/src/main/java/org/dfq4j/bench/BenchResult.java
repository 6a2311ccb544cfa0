package org.dfq4j.bench;

import com.fasterxml.jackson.annotation.JsonIgnore;
import com.fasterxml.jackson.annotation.JsonInclude;
import com.fasterxml.jackson.annotation.JsonProperty;
import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.DeserializationFeature;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import org.apache.commons.math3.stat.descriptive.DescriptiveStatistics;
import org.dfq4j.rewrite.DfqException;

/**
 * One benchmark run, as its JSON file holds it: FP32 and 8-bit-simulated throughput (median, min
 * and max images/s over timed runs after warm-up), the DFQ pipeline's own time (float rewrites and
 * weight quantization), the time to build the 8-bit simulation (activation ranges included), peak
 * memory, and where it ran; how the networks ran, the machine's measured peak, the FP32 network's
 * layer FLOPs per image and the median latency of one image; with ONNX Runtime, every network timed
 * in the same run and ND4J's FP32 throughput over ONNX Runtime's on the same network exported
 * ({@link #fp32OverOnnxRuntime()}). {@code dfq bench --json} writes it, {@code --compare} reads two
 * back; results written before the last five were recorded read back with NaN (and "not recorded")
 * there.
 *
 * @param pipeline          what the 8-bit network is, in words
 * @param profile           per network ("fp32", "int8"), the op types by time; empty unless profiled
 * @param layout            how both networks ran (layout and execution settings), in words
 * @param peak              the machine's measured matrix-product and copy rates
 * @param fp32FlopsPerImage FLOPs of the FP32 network's layers (convolutions, matrix products) per image
 * @param fp32LatencyMs     median time of one image through the FP32 network (batch 1)
 * @param int8LatencyMs     the same for the 8-bit network
 * @param runtimes          with ONNX Runtime, every network timed in the same alternation (ND4J's two
 *                          first); empty otherwise
 */
public record BenchResult(@JsonProperty(required = true) String model, @JsonProperty(required = true) String backend,
                          @JsonProperty(required = true) String device, @JsonProperty(required = true) int threads,
                          @JsonProperty(required = true) int batch, @JsonProperty(required = true) int runs,
                          @JsonProperty(required = true) double fp32ImagesPerSecond,
                          @JsonProperty(required = true) double fp32ImagesPerSecondMin,
                          @JsonProperty(required = true) double fp32ImagesPerSecondMax,
                          @JsonProperty(required = true) double int8ImagesPerSecond,
                          @JsonProperty(required = true) double int8ImagesPerSecondMin,
                          @JsonProperty(required = true) double int8ImagesPerSecondMax,
                          double int8OverFp32, @JsonProperty(required = true) double pipelineSeconds,
                          @JsonProperty(required = true) double quantizeSeconds, String pipeline,
                          @JsonProperty(required = true) long peakPhysicalBytes,
                          @JsonProperty(required = true) long peakHeapBytes,
                          @JsonInclude(JsonInclude.Include.NON_EMPTY) Map<String, List<OpTime>> profile,
                          String layout, MachinePeak peak, Double fp32FlopsPerImage, Double fp32LatencyMs,
                          Double int8LatencyMs,
                          @JsonInclude(JsonInclude.Include.NON_EMPTY) List<RuntimeThroughput> runtimes) {

    /** The runtime name of ONNX Runtime's rows, and the network name of its FP32 export's row. */
    public static final String ONNX_RUNTIME = "ONNX Runtime";
    public static final String FP32_EXPORT = "FP32 export";

    /**
     * Totals of one op type in a profiled pass: time, calls, FLOPs and bytes moved ({@link OpCost}).
     */
    public record OpTime(String op, double seconds, long calls, double flops, double bytes) {

        /** Achieved GFLOP/s (nominal, one per output element, for ops that are not layers). */
        @JsonIgnore
        public double gflops() {
            return seconds > 0 ? flops / seconds / 1e9 : 0;
        }

        /** Achieved memory traffic in GB/s (each input and output array once). */
        @JsonIgnore
        public double gbytes() {
            return seconds > 0 ? bytes / seconds / 1e9 : 0;
        }
    }

    /**
     * One network timed on one runtime (ND4J, or ONNX Runtime with --runtime onnxruntime) in the same
     * run: images/s at the batch size (median, min, max) and the median latency of one image.
     */
    public record RuntimeThroughput(String runtime, String network, double imagesPerSecond, double imagesPerSecondMin,
                                    double imagesPerSecondMax, Double latencyMs) {

        public RuntimeThroughput {
            latencyMs = orNaN(latencyMs);
        }

        /** A row from its throughput and batch-1 latency. */
        public static RuntimeThroughput of(String runtime, String network, Throughput t, double latencyMs) {
            return new RuntimeThroughput(runtime, network, t.median(), t.min(), t.max(), latencyMs);
        }

        /** The throughput. */
        @JsonIgnore
        public Throughput throughput() {
            return new Throughput(imagesPerSecond, imagesPerSecondMin, imagesPerSecondMax);
        }
    }

    /** Images per second over the timed runs: median, min and max. */
    public record Throughput(double median, double min, double max) {

        /** From the seconds each timed run of {@code batch} images took. */
        public static Throughput of(int batch, double[] seconds) {
            DescriptiveStatistics s = new DescriptiveStatistics();
            for (double t : seconds) {
                s.addValue(batch / t);
            }
            return new Throughput(s.getPercentile(50), s.getMin(), s.getMax());
        }
    }

    public BenchResult {
        profile = profile == null ? Map.of() : profile;
        runtimes = runtimes == null ? List.of() : List.copyOf(runtimes);
        int8OverFp32 = int8ImagesPerSecond / fp32ImagesPerSecond;
        layout = layout == null ? "not recorded" : layout;
        peak = peak == null ? new MachinePeak(Double.NaN, Double.NaN, "not recorded") : peak;
        fp32FlopsPerImage = orNaN(fp32FlopsPerImage);
        fp32LatencyMs = orNaN(fp32LatencyMs);
        int8LatencyMs = orNaN(int8LatencyMs);
    }

    private static Double orNaN(Double d) {
        return d == null ? Double.NaN : d;
    }

    /** A result from its parts. */
    public static BenchResult of(String model, String backend, String device, int threads, int batch, int runs,
                                 Throughput fp32, Throughput int8, double pipelineSeconds, double quantizeSeconds,
                                 String pipeline, long peakPhysicalBytes, long peakHeapBytes,
                                 Map<String, List<OpTime>> profile, String layout, MachinePeak peak,
                                 double fp32FlopsPerImage, double fp32LatencyMs, double int8LatencyMs,
                                 List<RuntimeThroughput> runtimes) {
        return new BenchResult(model, backend, device, threads, batch, runs, fp32.median(), fp32.min(), fp32.max(),
                int8.median(), int8.min(), int8.max(), 0, pipelineSeconds, quantizeSeconds, pipeline, peakPhysicalBytes,
                peakHeapBytes, profile, layout, peak, fp32FlopsPerImage, fp32LatencyMs, int8LatencyMs,
                runtimes);
    }

    /** FP32 throughput. */
    @JsonIgnore
    public Throughput fp32() {
        return new Throughput(fp32ImagesPerSecond, fp32ImagesPerSecondMin, fp32ImagesPerSecondMax);
    }

    /** 8-bit throughput. */
    @JsonIgnore
    public Throughput int8() {
        return new Throughput(int8ImagesPerSecond, int8ImagesPerSecondMin, int8ImagesPerSecondMax);
    }

    /** The FP32 network's achieved rate in GFLOP/s (its layers' FLOPs times images per second). */
    @JsonProperty("fp32Gflops")
    public double fp32Gflops() {
        return fp32FlopsPerImage * fp32ImagesPerSecond / 1e9;
    }

    /** {@link #fp32Gflops()} as a fraction of the measured matrix-product peak. */
    @JsonIgnore
    public double fp32OfPeak() {
        return fp32Gflops() / peak.gflops();
    }

    /**
     * ND4J's FP32 images/s over ONNX Runtime's on the same network exported to ONNX by dfq4j, timed in
     * the same alternation; NaN when ONNX Runtime was not timed.
     */
    @JsonProperty("fp32OverOnnxRuntime")
    public double fp32OverOnnxRuntime() {
        return runtimes.stream().filter(t -> t.runtime().equals(ONNX_RUNTIME) && t.network().equals(FP32_EXPORT))
                .mapToDouble(t -> fp32ImagesPerSecond / t.imagesPerSecond()).findFirst().orElse(Double.NaN);
    }

    /**
     * A result a bench run wrote as JSON.
     *
     * @throws DfqException naming the file, in one line, when it cannot be read or is not a bench result
     */
    public static BenchResult read(Path p) {
        try {
            return JSON.readValue(Files.readAllBytes(p), BenchResult.class);
        } catch (IOException e) {
            String why = e instanceof JsonProcessingException j ? j.getOriginalMessage() : e.getMessage();
            throw new DfqException("cannot read bench result " + p + ": " + String.valueOf(why).lines().findFirst()
                    .orElse("") + " (write one with a bench run's JSON output)");
        }
    }

    private static final ObjectMapper JSON = new ObjectMapper()
            .configure(DeserializationFeature.FAIL_ON_UNKNOWN_PROPERTIES, false);
}
