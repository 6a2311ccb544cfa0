package org.dfq4j.cli;

import java.io.PrintWriter;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;
import java.util.function.Supplier;
import org.dfq4j.rewrite.DfqRecipe;
import org.dfq4j.rewrite.engine.RewriteLog;
import org.dfq4j.rewrite.engine.Rewritten;
import org.dfq4j.rewrite.graph.Network;
import org.dfq4j.rewrite.graph.TensorRange;
import org.dfq4j.rewrite.quant.QuantScheme;
import org.dfq4j.rewrite.quant.LowerFakeQuant;
import org.dfq4j.rewrite.quant.RangeSource;
import org.nd4j.linalg.api.ndarray.INDArray;

/**
 * The reference project's README table for one model: rows original / replace relu6 / +equalization /
 * +absorption / +bias correction, then equalization keeping ReLU6 (with and without correction) and
 * per-channel weights; columns FP32, weights-only 8-bit (W8) and weights-and-activations 8-bit (W8A8),
 * each scored on the task and compared with the original FP32 run (fidelity).
 */
final class DfqTable {

    /** One row: a recipe, or the reason it cannot run on this model. */
    record Row(String name, DfqRecipe recipe, String unavailable) {
    }

    /** A cell: the task's metrics and the fidelity to the original FP32 run. */
    record Cell(Map<String, Double> metrics, Map<String, Double> fidelity, double imagesPerSecond) {
        Map<String, Object> toMap() {
            Map<String, Object> m = new LinkedHashMap<>(metrics);
            fidelity.forEach((k, v) -> m.put("fidelity_" + k, v));
            m.put("imagesPerSecond", imagesPerSecond);
            return m;
        }
    }

    record Result(Row row, Cell fp32, Cell w8, Cell w8a8, String rangeSource, double pipelineSeconds, List<String> notes,
                  RewriteLog log) {
    }

    private final Task task;
    private final Supplier<List<INDArray>> calibration;
    private final TensorRange inputRange;
    private final PrintWriter progress;
    private final boolean lower;

    /** {@code lower}: run W8A8 networks lowered ({@link LowerFakeQuant}) rather than with ND4J's fake-quant ops. */
    DfqTable(Task task, Supplier<List<INDArray>> calibration, TensorRange inputRange, PrintWriter progress, boolean lower) {
        this.task = task;
        this.calibration = calibration;
        this.inputRange = inputRange;
        this.progress = progress;
        this.lower = lower;
    }

    /**
     * The rows for a model, given whether its folded graph has BatchNorm statistics and whether
     * calibration images may be used (for empirical correction where analytic is impossible).
     */
    static List<Row> rows(QuantScheme scheme, int actBits, String actRange, double sigmas, boolean hasStats,
                          DfqRecipe.Correction requested) {
        DfqRecipe naive = new DfqRecipe(false, false, false, DfqRecipe.Correction.NONE, scheme, actBits, actRange, sigmas);
        DfqRecipe.Correction correction = requested != DfqRecipe.Correction.NONE ? requested
                : hasStats ? DfqRecipe.Correction.ANALYTIC : DfqRecipe.Correction.EMPIRICAL;
        String noStats = "needs BatchNorm statistics; this model was BN-folded at export";
        List<Row> rows = new ArrayList<>();
        rows.add(new Row("original", naive, null));
        rows.add(new Row("replace relu6", naive.withRelu(true), null));
        rows.add(new Row("+equalization", naive.withRelu(true).withEqualize(true), null));
        rows.add(hasStats ? new Row("+absorption", naive.withRelu(true).withEqualize(true).withAbsorb(true), null)
                : new Row("+absorption", null, noStats));
        boolean correctionPossible = hasStats || correction == DfqRecipe.Correction.EMPIRICAL;
        rows.add(correctionPossible ? new Row("+bias correction", naive.withRelu(true).withEqualize(true)
                .withAbsorb(hasStats).withCorrection(correction), null) : new Row("+bias correction", null, noStats));
        rows.add(new Row("equalization, ReLU6 kept", naive.withEqualize(true), null));
        rows.add(correctionPossible ? new Row("equalization, ReLU6 kept, +correction", naive.withEqualize(true)
                .withAbsorb(hasStats).withCorrection(correction), null)
                : new Row("equalization, ReLU6 kept, +correction", null, noStats));
        rows.add(new Row("per-channel weights", naive.withWeights(QuantScheme.perChannel(scheme.bits(), scheme.symmetric())),
                null));
        return rows;
    }

    /** Runs every row on a copy of {@code original}; fidelity is measured against the first row's FP32 run. */
    List<Result> run(Network original, List<Row> rows, boolean withActivations) {
        List<Result> results = new ArrayList<>();
        Task.Score reference = null;
        for (Row row : rows) {
            if (row.recipe() == null) {
                results.add(new Result(row, null, null, null, "", 0, List.of(row.unavailable()), new RewriteLog()));
                progress.printf("%-38s n/a: %s%n", row.name(), row.unavailable());
                progress.flush();
                continue;
            }
            long t0 = System.nanoTime();
            Rewritten prepared = row.recipe().floatPipeline().run(original);
            double floatSeconds = (System.nanoTime() - t0) / 1e9;
            Task.Score fp = task.score(prepared.network(), row.name() + " FP32");
            if (reference == null) {
                reference = fp;
                task.describe(fp).forEach(progress::println);
            }
            RewriteLog log = new RewriteLog();
            log.addAll(prepared.log());
            Cell fp32 = cell(reference, fp);
            long t1 = System.nanoTime();
            List<INDArray> calib = row.recipe().correction() == DfqRecipe.Correction.EMPIRICAL ? calibration.get() : List.of();
            Rewritten w8 = row.recipe().quantPipeline(RangeSource.none(), calib).run(prepared.network());
            double quantSeconds = (System.nanoTime() - t1) / 1e9;
            log.addAll(w8.log());
            Cell w8cell = cell(reference, task.score(w8.network(), row.name() + " W8"));
            Cell w8a8cell = null;
            String range = "none";
            if (withActivations) {
                RangeSource source = rangeSource(row.recipe(), prepared.network());
                range = source.name();
                Rewritten q = row.recipe().quantPipeline(source, calib).run(prepared.network());
                log.addAll(q.log());
                Network run = lower ? LowerFakeQuant.of(q.network()).network() : q.network();
                w8a8cell = cell(reference, task.score(run, row.name() + " W8A8"));
            }
            Result r = new Result(row, fp32, w8cell, w8a8cell, range, floatSeconds + quantSeconds, notes(log), log);
            results.add(r);
            progress.printf("%-38s %s%n", row.name(), summary(r));
            progress.flush();
        }
        return results;
    }

    private RangeSource rangeSource(DfqRecipe recipe, Network prepared) {
        String spec = recipe.actRange();
        List<INDArray> images = spec.startsWith("calib:") ? calibration.get() : List.of();
        return RangeSource.parse(spec, recipe.sigmas(), inputRange, images);
    }

    private Cell cell(Task.Score reference, Task.Score s) {
        return new Cell(s.metrics(), task.fidelity(reference, s), s.imagesPerSecond());
    }

    /** The whole-graph summary lines of a log (one per transform), e.g. "equalized 34 layer pairs". */
    static List<String> notes(RewriteLog log) {
        Set<String> n = new LinkedHashSet<>();
        for (RewriteLog.Entry e : log.entries()) {
            if (e.targets().isEmpty() && !e.step().startsWith("InsertFakeQuant") && !e.step().startsWith("QuantizeWeights")
                    && !e.message().startsWith("applied 0 ")) {
                n.add(e.step() + ": " + e.message());
            }
        }
        return new ArrayList<>(n);
    }

    String summary(Result r) {
        StringBuilder sb = new StringBuilder();
        sb.append("FP32 ").append(format(r.fp32()));
        sb.append(" | W8 ").append(format(r.w8()));
        if (r.w8a8() != null) {
            sb.append(" | W8A8 ").append(format(r.w8a8()));
        }
        return sb.toString();
    }

    /** The table's columns per precision, e.g. "top1", "top5". */
    List<String> columns() {
        return task.tableColumns();
    }

    /** Every column of a cell, space separated. */
    String format(Cell c) {
        List<String> parts = new ArrayList<>();
        for (String k : columns()) {
            parts.add(format(c, k));
        }
        return String.join(" ", parts);
    }

    /** One value: a metric, or the fidelity to the original FP32 run where there is no such metric. */
    static String format(Cell c, String key) {
        if (c == null) {
            return "n/a";
        }
        Double v = c.metrics().containsKey(key) ? c.metrics().get(key) : c.fidelity().get(key);
        if (v == null) {
            return "?";
        }
        return v.isInfinite() ? "inf" : String.format(Locale.ROOT, "%.2f", v);
    }

    /** Whether a column comes from fidelity (no ground truth) in these results. */
    boolean isFidelity(List<Result> results, String key) {
        for (Result r : results) {
            if (r.fp32() != null) {
                return !r.fp32().metrics().containsKey(key);
            }
        }
        return false;
    }
}
