package org.dfq4j.cli;

import java.io.PrintWriter;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.Callable;
import java.util.function.Supplier;
import org.dfq4j.eval.report.JsonReport;
import org.dfq4j.eval.report.TextTable;
import org.dfq4j.eval.runtime.Backend;
import org.dfq4j.rewrite.DfqException;
import org.dfq4j.rewrite.DfqRecipe;
import org.dfq4j.rewrite.graph.Network;
import org.dfq4j.rewrite.io.OutputPlan;
import org.dfq4j.zoo.ModelFiles;
import org.nd4j.linalg.api.ndarray.INDArray;
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
    InputShapeOption shape;

    @Mixin
    TaskOptions taskOptions;

    @Mixin
    PipelineOptions pipeline;

    @Mixin
    RunOptions run;

    @Option(names = "--json", paramLabel = "PATH", description = "write the rows as a JSON array (atomically)")
    Path json;

    @Option(names = "--markdown", paramLabel = "PATH", description = "write the table as Markdown (atomically)")
    Path markdown;

    @Option(names = "--explain", description = "print every row's rewrite log")
    boolean explain;

    @Option(names = "--force", description = "replace output files that exist (an input is never replaced)")
    boolean force;

    @Override
    public Integer call() {
        PrintWriter out = spec.commandLine().getOut();
        if (pipeline.relu || pipeline.equalize || pipeline.absorb || pipeline.quantize) {
            throw new DfqException("dfq table runs every row itself; drop --relu/--equalize/--absorb/--quantize (use dfq eval for one recipe)");
        }
        Backend backend = run.apply();
        out.println(backend.describe());
        TaskOptions.Built all = taskOptions.forModel(model).build(run.batch, System.err);
        new OutputPlan(force).inputs(ModelFiles.files(model)).inputs(taskOptions.inputs()).input(pipeline.calibImages)
                .file("--json", json).file("--markdown", markdown).check();
        TaskOptions.Built built = taskOptions.withoutUndecodable(all, run.batch, System.err);
        built.reportSkipped(out);
        Network net = ModelFiles.read(model, shape.chw());
        boolean hasStats = DfqRecipe.hasStatistics(net);
        String range = pipeline.rangeSpec(hasStats);
        boolean withActivations = !range.equals("none");
        out.printf("model: %s (%s), task: %s, %s%n", net.name(), net.properties().getOrDefault("format", "?"),
                built.task().name(), built.description());
        out.printf("preprocess: %s%n", taskOptions.describePreprocessing());
        out.printf("weights: %s; activations: %s%s%n", pipeline.weightScheme(),
                withActivations ? pipeline.bitsAct + "-bit per-tensor, ranges from " + range : "float (--act-range none)",
                hasStats ? "" : "; no BatchNorm statistics (BN folded at export)");
        Supplier<List<INDArray>> calib = memoize(() -> Calibration.load(pipeline.calibImages, built.photographs(),
                Math.max(pipeline.calib, calibCount(range)), taskOptions.preprocessing(), net.inputShape(), out,
                taskOptions.skipBadImages));
        DfqTable table = new DfqTable(built.task(), calib, Calibration.inputRange(taskOptions.preprocessing()), out,
                pipeline.lowered());
        List<DfqTable.Row> rows = DfqTable.rows(pipeline.weightScheme(), pipeline.bitsAct, range, pipeline.sigmas(),
                hasStats, pipeline.correction());
        List<DfqTable.Result> results = table.run(net, rows, withActivations);
        out.println();
        printTable(out, table, results, withActivations);
        if (explain) {
            printLogs(out, results);
        }
        if (json != null) {
            JsonReport.write(json, rowsJson(results, built.task().name(), net, backend));
            out.println("wrote " + json);
        }
        if (markdown != null) {
            JsonReport.writeText(markdown, markdown(table, results, withActivations, "Model: " + net.name() + ", "
                    + built.task().name() + ", " + built.description()));
            out.println("wrote " + markdown);
        }
        return 0;
    }

    private static int calibCount(String range) {
        return range.startsWith("calib:") ? Integer.parseInt(range.substring("calib:".length())) : 0;
    }

    static <T> Supplier<T> memoize(Supplier<T> s) {
        return new Supplier<>() {
            private T value;

            @Override
            public synchronized T get() {
                if (value == null) {
                    value = s.get();
                }
                return value;
            }
        };
    }

    static void printLogs(PrintWriter out, List<DfqTable.Result> results) {
        for (DfqTable.Result r : results) {
            out.println();
            out.println("== " + r.row().name() + " (" + (r.row().recipe() == null ? "n/a" : r.row().recipe().flags()) + ")");
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
            cells.add(r.row().recipe() == null ? "" : r.row().recipe().flags());
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

    static List<Map<String, Object>> rowsJson(List<DfqTable.Result> results, String task, Network net, Backend b) {
        List<Map<String, Object>> rows = new ArrayList<>();
        for (DfqTable.Result r : results) {
            Map<String, Object> m = new LinkedHashMap<>();
            m.put("row", r.row().name());
            m.put("model", net.name());
            m.put("task", task);
            m.put("available", r.row().recipe() != null);
            if (r.row().recipe() == null) {
                m.put("reason", r.row().unavailable());
                rows.add(m);
                continue;
            }
            m.put("pipeline", r.row().recipe().toMap());
            DfqTable.Cell int8 = r.w8a8() != null ? r.w8a8() : r.w8();
            if (r.fp32().metrics().containsKey("top1")) {
                m.put("fp32Top1", r.fp32().metrics().get("top1"));
                m.put("fp32Top5", r.fp32().metrics().get("top5"));
                m.put("w8Top1", r.w8().metrics().get("top1"));
                m.put("int8Top1", int8.metrics().get("top1"));
                m.put("int8Top5", int8.metrics().get("top5"));
            }
            m.put("int8", r.w8a8() != null ? "W8A8" : "W8");
            m.put("actRange", r.rangeSource());
            m.put("fp32", r.fp32().toMap());
            m.put("w8", r.w8().toMap());
            if (r.w8a8() != null) {
                m.put("w8a8", r.w8a8().toMap());
            }
            m.put("pipelineSeconds", r.pipelineSeconds());
            m.put("notes", r.notes());
            m.put("backend", b.name());
            rows.add(m);
        }
        return rows;
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
                    .append(r.row().recipe() == null ? "n/a: " + r.row().unavailable() : "`" + r.row().recipe().flags() + "`")
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
