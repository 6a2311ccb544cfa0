package org.dfq4j.cli;

import java.io.PrintWriter;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.Callable;
import org.dfq4j.eval.report.JsonReport;
import org.dfq4j.eval.report.TextTable;
import org.dfq4j.eval.runtime.Backend;
import org.dfq4j.rewrite.DfqException;
import org.dfq4j.eval.image.Preprocessing;
import org.dfq4j.rewrite.DfqRecipe;
import org.dfq4j.rewrite.quant.RangeSpec;
import org.dfq4j.rewrite.graph.Network;
import org.dfq4j.zoo.ModelFiles;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

/** {@code dfq table}: the reference README's table (rows x FP32 / W8 / W8A8) for one model. */
@Command(name = "table", mixinStandardHelpOptions = true,
        description = "The reference project's table for one model: original / replace relu6 / +equalization / "
                + "+absorption / +bias correction / equalization keeping ReLU6 / per-channel, each in FP32, "
                + "8-bit weights (W8) and 8-bit weights and activations (W8A8).")
final class TableCommand implements Callable<Integer> {

    @Spec
    CommandSpec spec;

    @Option(names = "--model", required = true, paramLabel = "PATH",
            description = "model file (.tflite, .onnx, TF.js model.json, .dfq) or " + ModelFiles.BUILTIN_MOBILENET)
    String model;

    @Mixin
    TaskOptions taskOptions;

    @Mixin
    RecipeOptions rewrites;

    @Mixin
    QuantOptions quant;

    @Mixin
    RunOptions run;

    @Option(names = "--json", paramLabel = "PATH", description = "write the rows as a JSON array (atomically)")
    Path json;

    @Option(names = "--markdown", paramLabel = "PATH", description = "write the table as Markdown (atomically)")
    Path markdown;

    @Option(names = "--explain", description = "print every row's rewrite log")
    boolean explain;

    @Override
    public Integer call() {
        PrintWriter out = spec.commandLine().getOut();
        if (rewrites.relu || rewrites.equalize || rewrites.absorb) {
            throw new DfqException("dfq table runs every row itself; drop --relu/--equalize/--absorb (use dfq eval for one recipe)");
        }
        Backend backend = run.apply();
        out.println(backend.describe());
        TaskOptions.Built built = taskOptions.build(run.batch, System.err);
        Network net = ModelFiles.read(model);
        boolean hasStats = DfqRecipe.hasStatistics(net);
        DfqRecipe base = quant.applyTo(DfqRecipe.builder(), DfqRecipe.DEFAULT_CALIBRATION_IMAGES).build();
        RangeSpec range = base.activationRanges().resolve(hasStats);
        boolean withActivations = range.kind() != RangeSpec.Kind.NONE;
        out.printf("model: %s (%s), task: %s, %s%n", net.name(), net.properties().getOrDefault("format", "?"),
                built.task().name(), built.description());
        out.printf("weights: %s; activations: %s%s%n", base.weights(),
                withActivations ? base.activationBits() + "-bit per-tensor, ranges from " + range : "float (--act-range none)",
                hasStats ? "" : "; no BatchNorm statistics (BN folded at export)");
        Preprocessing pre = taskOptions.preprocessing();
        DfqTable table = new DfqTable(built.task(), quant.calibration(pre, built.photographs(), out), pre.valueRange(),
                out, quant.lowered(FakeQuantMode.OPS));
        List<DfqTable.Result> results = table.run(net, DfqTable.rows(base, hasStats, rewrites.correct));
        out.println();
        printTable(out, table, results, withActivations);
        if (explain) {
            printLogs(out, results);
        }
        if (json != null) {
            JsonReport.write(json, results.stream().map(r -> DfqTable.RowReport.of(r, built.task().name(), net,
                    backend.name())).toList());
            out.println("wrote " + json);
        }
        if (markdown != null) {
            JsonReport.writeText(markdown, markdown(table, results, withActivations, "Model: " + net.name() + ", "
                    + built.task().name() + ", " + built.description()));
            out.println("wrote " + markdown);
        }
        return 0;
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
        List<String> precisions = act ? List.of("FP32", "W8", "W8A8") : List.of("FP32", "W8");
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
            for (DfqTable.Cell c : act ? java.util.Arrays.asList(r.fp32(), r.w8(), r.w8a8()) : List.of(r.fp32(), r.w8())) {
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

    static String markdown(DfqTable t, List<DfqTable.Result> results, boolean act, String title) {
        StringBuilder sb = new StringBuilder(title).append("\n\n| row | flags |");
        List<String> precisions = act ? List.of("FP32", "W8", "W8A8") : List.of("FP32", "W8");
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
            for (DfqTable.Cell c : act ? java.util.Arrays.asList(r.fp32(), r.w8(), r.w8a8()) : List.of(r.fp32(), r.w8())) {
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
