package org.dfq4j.bench;

import java.util.List;
import java.util.Locale;
import org.dfq4j.rewrite.graph.OpKind;

/**
 * Two bench results (e.g. a CPU run and a GPU run) side by side with ratios B/A, as Markdown and as
 * JSON (this record), and the Markdown table of one run.
 *
 * @param a             the first run
 * @param b             the second run
 * @param fp32Ratio     B/A of FP32 images/s
 * @param int8Ratio     B/A of 8-bit images/s
 * @param pipelineRatio B/A of the DFQ pipeline's time
 */
public record BenchComparison(BenchResult a, BenchResult b, double fp32Ratio, double int8Ratio, double pipelineRatio) {

    /** The comparison of two runs. */
    public static BenchComparison of(BenchResult a, BenchResult b) {
        return new BenchComparison(a, b, b.fp32().median() / a.fp32().median(), b.int8().median() / a.int8().median(),
                b.pipelineSeconds() / a.pipelineSeconds());
    }

    /** The table of one run. */
    public static String markdown(BenchResult r) {
        StringBuilder sb = new StringBuilder();
        sb.append("| model | backend | device | batch | FP32 images/s (min-max) | 8-bit images/s (min-max) | 8-bit/FP32 "
                + "| FP32 GFLOP/s (of peak) | batch-1 ms FP32 / 8-bit | DFQ pipeline s | 8-bit build s | peak RSS MiB |\n");
        sb.append("|---|---|---|---|---|---|---|---|---|---|---|---|\n");
        sb.append(String.format(Locale.ROOT, "| %s | %s | %s | %d | %.1f (%.1f-%.1f) | %.1f (%.1f-%.1f) | %.2f | %.0f (%.0f %%) "
                        + "| %.1f / %.1f | %.2f | %.2f | %.0f |%n",
                r.model(), r.backend(), r.device(), r.batch(), r.fp32().median(), r.fp32().min(), r.fp32().max(),
                r.int8().median(), r.int8().min(), r.int8().max(), r.int8OverFp32(), r.fp32Gflops(),
                100 * r.fp32OfPeak(), r.fp32LatencyMs(), r.int8LatencyMs(), r.pipelineSeconds(),
                r.quantizeSeconds(), r.peakPhysicalBytes() / 1048576.0));
        sb.append("\n8-bit: ").append(r.pipeline()).append("; ").append(r.runs())
                .append(" timed runs, median (min-max)\n");
        sb.append("both networks: ").append(r.layout()).append('\n');
        sb.append(String.format(Locale.ROOT, "machine peak: %.0f GFLOP/s (%s), %.1f GB/s (copy); FP32 network: %.2f GFLOP"
                + " per image in its layers%n", r.peak().gflops(), r.peak().method(), r.peak().gbytes(),
                r.fp32FlopsPerImage() / 1e9));
        if (!r.runtimes().isEmpty()) {
            sb.append(runtimes(r));
        }
        r.profile().forEach((which, ops) -> sb.append(profile(which, ops, r.peak())));
        return sb.toString();
    }

    /**
     * Every network on every runtime, timed in the same alternation, with its images/s relative to
     * ND4J's FP32 (and ND4J's FP32 over ONNX Runtime's FP32 export in one line).
     */
    private static String runtimes(BenchResult r) {
        double base = r.fp32().median();
        StringBuilder sb = new StringBuilder();
        sb.append("\nThe same networks on each runtime, timed in the same alternation:\n\n")
                .append("| runtime | network | images/s (min-max) | batch-1 ms | vs ND4J FP32 |\n|---|---|---|---|---|\n");
        for (BenchResult.RuntimeThroughput t : r.runtimes()) {
            sb.append(String.format(Locale.ROOT, "| %s | %s | %.1f (%.1f-%.1f) | %.1f | %.2f |%n", t.runtime(),
                    t.network(), t.imagesPerSecond(), t.imagesPerSecondMin(), t.imagesPerSecondMax(), t.latencyMs(),
                    t.imagesPerSecond() / base));
        }
        sb.append(String.format(Locale.ROOT, "%nND4J FP32 / ONNX Runtime FP32 (same network, same run): %.3f%n",
                r.fp32OverOnnxRuntime()));
        return sb.toString();
    }

    /**
     * One network's profile: per op type its time and share of the pass, achieved GFLOP/s (layers:
     * against the peak; other ops count one FLOP per output element) and GB/s moved.
     */
    private static String profile(String which, List<BenchResult.OpTime> ops, MachinePeak peak) {
        double total = ops.stream().mapToDouble(BenchResult.OpTime::seconds).sum();
        StringBuilder sb = new StringBuilder();
        sb.append("\nWhere the time goes, ").append(which).append(String.format(Locale.ROOT,
                " (each op in its fastest of %d profiled passes, %.1f ms in all; profiled slices run in turn, each "
                + "kernel on every thread):%n%n", Benchmark.PROFILED_PASSES, total * 1e3));
        sb.append("| op | calls | ms | share | GFLOP | GFLOP/s | of peak | GB/s |\n|---|---|---|---|---|---|---|---|\n");
        for (BenchResult.OpTime o : ops) {
            boolean layer = OpCost.isCompute(OpKind.ofName(o.op()));
            sb.append(String.format(Locale.ROOT, "| %s | %d | %.1f | %.1f %% | %.2f | %.1f | %s | %.1f |%n", o.op(),
                    o.calls(), o.seconds() * 1e3, total > 0 ? 100 * o.seconds() / total : 0, o.flops() / 1e9,
                    o.gflops(), layer ? String.format(Locale.ROOT, "%.0f %%", 100 * o.gflops() / peak.gflops()) : "",
                    o.gbytes()));
        }
        return sb.toString();
    }

    /** Two runs side by side, with B/A ratios. */
    public String markdown() {
        StringBuilder sb = new StringBuilder();
        sb.append("| | A | B | B/A |\n|---|---|---|---|\n");
        row(sb, "backend", a.backend(), b.backend());
        row(sb, "device", a.device(), b.device());
        row(sb, "model", a.model(), b.model());
        row(sb, "batch", String.valueOf(a.batch()), String.valueOf(b.batch()));
        ratio(sb, "FP32 images/s", a.fp32().median(), b.fp32().median());
        ratio(sb, "8-bit images/s", a.int8().median(), b.int8().median());
        ratio(sb, "8-bit/FP32", a.int8OverFp32(), b.int8OverFp32());
        ratio(sb, "batch-1 ms FP32", a.fp32LatencyMs(), b.fp32LatencyMs());
        ratio(sb, "DFQ pipeline s", a.pipelineSeconds(), b.pipelineSeconds());
        ratio(sb, "peak RSS MiB", a.peakPhysicalBytes() / 1048576.0, b.peakPhysicalBytes() / 1048576.0);
        if (!a.model().equals(b.model()) || a.batch() != b.batch()) {
            sb.append("\nnote: the two runs differ in model or batch size; ratios compare unlike runs\n");
        }
        return sb.toString();
    }

    private static void row(StringBuilder sb, String name, String x, String y) {
        sb.append("| ").append(name).append(" | ").append(x).append(" | ").append(y).append(" | |\n");
    }

    private static void ratio(StringBuilder sb, String name, double x, double y) {
        sb.append(String.format(Locale.ROOT, "| %s | %.2f | %.2f | %.2f |%n", name, x, y, y / x));
    }
}
