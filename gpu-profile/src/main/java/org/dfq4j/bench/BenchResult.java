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
 * memory, and where it ran. {@code dfq bench --json} writes it, {@code --compare} reads two back.
 *
 * @param pipeline     what the 8-bit network is, in words
 * @param profile      per network ("fp32", "int8"), the op types that took the most time; empty unless profiled
 * @param runtimes     with ONNX Runtime, every network timed in the same alternation (ND4J's two first);
 *                     empty otherwise
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
                          @JsonInclude(JsonInclude.Include.NON_EMPTY) List<RuntimeThroughput> runtimes) {

    /** Total time and call count of one op type. */
    public record OpTime(String op, double seconds, long calls) {
    }

    /** One network timed on one runtime (ND4J, or ONNX Runtime with --runtime onnxruntime) in the same run. */
    public record RuntimeThroughput(String runtime, String network, double imagesPerSecond, double imagesPerSecondMin,
                                    double imagesPerSecondMax) {

        /** A row from its throughput. */
        public static RuntimeThroughput of(String runtime, String network, Throughput t) {
            return new RuntimeThroughput(runtime, network, t.median(), t.min(), t.max());
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
    }

    /** A result from its parts. */
    public static BenchResult of(String model, String backend, String device, int threads, int batch, int runs,
                                 Throughput fp32, Throughput int8, double pipelineSeconds, double quantizeSeconds,
                                 String pipeline, long peakPhysicalBytes, long peakHeapBytes,
                                 Map<String, List<OpTime>> profile, List<RuntimeThroughput> runtimes) {
        return new BenchResult(model, backend, device, threads, batch, runs, fp32.median(), fp32.min(), fp32.max(),
                int8.median(), int8.min(), int8.max(), 0, pipelineSeconds, quantizeSeconds, pipeline, peakPhysicalBytes,
                peakHeapBytes, profile, runtimes);
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

    /** This result with the thread count and the device line saying so. */
    public BenchResult withThreads(int n) {
        return new BenchResult(model, backend, device.replaceAll(", \\d+ threads$", ", " + n + " threads"), n, batch,
                runs, fp32ImagesPerSecond, fp32ImagesPerSecondMin, fp32ImagesPerSecondMax, int8ImagesPerSecond,
                int8ImagesPerSecondMin, int8ImagesPerSecondMax, 0, pipelineSeconds, quantizeSeconds, pipeline,
                peakPhysicalBytes, peakHeapBytes, profile, runtimes);
    }
}
