package org.dfq4j.bench;

import java.util.LinkedHashMap;
import java.util.Locale;
import java.util.Map;

/** Markdown tables of bench results: one run, or two runs (e.g. CPU and GPU) side by side with ratios B/A. */
final class BenchComparison {

    private final BenchResult a;
    private final BenchResult b;

    BenchComparison(BenchResult a, BenchResult b) {
        this.a = a;
        this.b = b;
    }

    /** The table of one run. */
    static String markdown(BenchResult r) {
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
                        t.throughput().median(), t.throughput().min(), t.throughput().max(),
                        t.throughput().median() / base));
            }
        }
        if (r.profile() != null) {
            r.profile().forEach((which, ops) -> {
                sb.append("\nTop op types, ").append(which).append(" (one profiled batch):\n\n| op | seconds | calls |\n|---|---|---|\n");
                ops.stream().limit(8).forEach(o -> sb.append(String.format(Locale.ROOT, "| %s | %.4f | %s |%n",
                        o.get("op"), ((Number) o.get("seconds")).doubleValue(), o.get("calls"))));
            });
        }
        return sb.toString();
    }

    /** Two runs side by side, with B/A ratios. */
    String markdown() {
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

    Map<String, Object> toMap() {
        Map<String, Object> m = new LinkedHashMap<>();
        m.put("a", a.toMap());
        m.put("b", b.toMap());
        m.put("fp32Ratio", b.fp32().median() / a.fp32().median());
        m.put("int8Ratio", b.int8().median() / a.int8().median());
        m.put("pipelineRatio", b.pipelineSeconds() / a.pipelineSeconds());
        return m;
    }

    private static void row(StringBuilder sb, String name, String x, String y) {
        sb.append("| ").append(name).append(" | ").append(x).append(" | ").append(y).append(" | |\n");
    }

    private static void ratio(StringBuilder sb, String name, double x, double y) {
        sb.append(String.format(Locale.ROOT, "| %s | %.2f | %.2f | %.2f |%n", name, x, y, y / x));
    }
}
