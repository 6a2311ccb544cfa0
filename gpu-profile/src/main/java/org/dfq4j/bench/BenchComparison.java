package org.dfq4j.bench;

import java.util.Locale;

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
                + "| DFQ pipeline s | 8-bit build s | peak RSS MiB |\n");
        sb.append("|---|---|---|---|---|---|---|---|---|---|\n");
        sb.append(String.format(Locale.ROOT, "| %s | %s | %s | %d | %.1f (%.1f-%.1f) | %.1f (%.1f-%.1f) | %.2f | %.2f | %.2f | %.0f |%n",
                r.model(), r.backend(), r.device(), r.batch(), r.fp32().median(), r.fp32().min(), r.fp32().max(),
                r.int8().median(), r.int8().min(), r.int8().max(), r.int8OverFp32(), r.pipelineSeconds(),
                r.quantizeSeconds(), r.peakPhysicalBytes() / 1048576.0));
        sb.append("\n8-bit: ").append(r.pipeline()).append("; ").append(r.runs())
                .append(" timed runs, median (min-max)\n");
        if (!r.runtimes().isEmpty()) {
            double base = r.fp32().median();
            sb.append("\nThe same networks on each runtime, timed in the same alternation:\n\n")
                    .append("| runtime | network | images/s (min-max) | vs ND4J FP32 |\n|---|---|---|---|\n");
            for (BenchResult.RuntimeThroughput t : r.runtimes()) {
                sb.append(String.format(Locale.ROOT, "| %s | %s | %.1f (%.1f-%.1f) | %.2f |%n", t.runtime(), t.network(),
                        t.imagesPerSecond(), t.imagesPerSecondMin(), t.imagesPerSecondMax(), t.imagesPerSecond() / base));
            }
        }
        r.profile().forEach((which, ops) -> {
            sb.append("\nTop op types, ").append(which).append(" (one profiled batch):\n\n| op | seconds | calls |\n|---|---|---|\n");
            ops.stream().limit(8).forEach(o -> sb.append(String.format(Locale.ROOT, "| %s | %.4f | %d |%n",
                    o.op(), o.seconds(), o.calls())));
        });
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
