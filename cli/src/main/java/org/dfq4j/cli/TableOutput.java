package org.dfq4j.cli;

import java.io.PrintWriter;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import org.dfq4j.eval.report.JsonReport;
import org.dfq4j.eval.report.TextTable;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

/** How a table (dfq table, dfq demo) is reported: the text table always; rewrite logs, JSON and Markdown on request. */
final class TableOutput {

    @Option(names = "--json", paramLabel = "PATH", description = "write the rows as a JSON array (atomically)")
    Path json;

    @Option(names = "--markdown", paramLabel = "PATH", description = "write the table as Markdown (atomically)")
    Path markdown;

    @Option(names = "--explain", description = "print every row's rewrite log")
    boolean explain;

    @Mixin
    ForceOption force;

    /** Declares the files this report writes on {@code plan}; returns the plan. */
    OutputPlan declare(OutputPlan plan) {
        return plan.file("--json", json).file("--markdown", markdown);
    }

    /** Prints the table and what was asked for; {@code title} heads the Markdown. */
    void report(PrintWriter out, DfqTable table, List<DfqTable.Result> results, String task, String model,
                String backend, String title) {
        boolean act = results.stream().anyMatch(r -> r.w8a8() != null);
        out.println();
        printTable(out, table, results, act);
        if (explain) {
            printLogs(out, results);
        }
        if (json != null) {
            JsonReport.write(json, results.stream().map(r -> DfqTable.RowReport.of(r, task, model, backend)).toList());
            out.println("wrote " + json);
        }
        if (markdown != null) {
            JsonReport.writeText(markdown, markdown(table, results, act, title));
            out.println("wrote " + markdown);
        }
    }

    static void printLogs(PrintWriter out, List<DfqTable.Result> results) {
        for (DfqTable.Result r : results) {
            out.println();
            out.println("== " + r.row().name() + " (" + (r.row().recipe() == null ? "n/a" : RecipeOptions.flags(r.row().recipe()))
                    + ")");
            r.log().entries().forEach(e -> out.println("  " + e.line()));
        }
    }

    static void printTable(PrintWriter out, DfqTable t, List<DfqTable.Result> results, boolean act) {
        List<String> header = new ArrayList<>(List.of("row", "flags"));
        List<String> precisions = precisions(t, act);
        boolean anyFidelity = false;
        for (String p : precisions) {
            for (String k : t.columns()) {
                boolean f = t.isFidelity(results, k);
                anyFidelity |= f;
                header.add(p + " " + k + (f ? "*" : ""));
            }
        }
        if (act) {
            header.add("ranges");
        }
        header.add("notes");
        TextTable table = new TextTable(header.toArray(new String[0]));
        for (DfqTable.Result r : results) {
            List<Object> cells = new ArrayList<>();
            cells.add(r.row().name());
            cells.add(r.row().recipe() == null ? "" : RecipeOptions.flags(r.row().recipe()));
            for (DfqTable.Cell c : cells(t, r, act)) {
                for (String k : t.columns()) {
                    cells.add(DfqTable.format(c, k));
                }
            }
            if (act) {
                cells.add(r.rangeSource());
            }
            cells.add(String.join("; ", r.notes()));
            table.row(cells.toArray());
        }
        table.print(out);
        if (anyFidelity) {
            out.println("* no ground truth: agreement with the original FP32 run (SQNR in dB, agreement/mIoU/mAP in %)");
        }
    }

    /** The column groups: FP32, W8, W8A8 (with activations) and the extra bit widths. */
    private static List<String> precisions(DfqTable t, boolean act) {
        List<String> p = new ArrayList<>(act ? List.of("FP32", "W8", "W8A8") : List.of("FP32", "W8"));
        p.addAll(t.extraLabels());
        return p;
    }

    /** A row's cells in the order of {@link #precisions} (null where a row has none). */
    private static List<DfqTable.Cell> cells(DfqTable t, DfqTable.Result r, boolean act) {
        List<DfqTable.Cell> c = new ArrayList<>(act ? Arrays.asList(r.fp32(), r.w8(), r.w8a8()) : Arrays.asList(r.fp32(), r.w8()));
        for (String k : t.extraLabels()) {
            c.add(r.extra().get(k));
        }
        return c;
    }

    static String markdown(DfqTable t, List<DfqTable.Result> results, boolean act, String title) {
        StringBuilder sb = new StringBuilder(title).append("\n\n| row | flags |");
        List<String> precisions = precisions(t, act);
        int cols = 2;
        for (String p : precisions) {
            for (String k : t.columns()) {
                sb.append(" ").append(p).append(" ").append(k).append(t.isFidelity(results, k) ? "*" : "").append(" |");
                cols++;
            }
        }
        if (act) {
            sb.append(" ranges |");
            cols++;
        }
        sb.append("\n|").append("---|".repeat(cols)).append("\n");
        for (DfqTable.Result r : results) {
            sb.append("| ").append(r.row().name()).append(" | ")
                    .append(r.row().recipe() == null ? "n/a: " + r.row().unavailable()
                            : "`" + RecipeOptions.flags(r.row().recipe()) + "`")
                    .append(" |");
            for (DfqTable.Cell c : cells(t, r, act)) {
                for (String k : t.columns()) {
                    sb.append(" ").append(DfqTable.format(c, k)).append(" |");
                }
            }
            if (act) {
                sb.append(" ").append(r.rangeSource()).append(" |");
            }
            sb.append("\n");
        }
        return sb.toString();
    }
}
