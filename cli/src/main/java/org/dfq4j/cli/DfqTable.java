package org.dfq4j.cli;

import com.fasterxml.jackson.annotation.JsonAnyGetter;
import com.fasterxml.jackson.annotation.JsonIgnore;
import com.fasterxml.jackson.annotation.JsonInclude;
import java.io.PrintWriter;
import java.io.Serializable;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.EnumMap;
import java.util.HexFormat;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;
import org.dfq4j.rewrite.Calibration;
import org.dfq4j.rewrite.DfqException;
import org.dfq4j.rewrite.DfqRecipe;
import org.dfq4j.rewrite.QuantizedNetwork;
import org.dfq4j.rewrite.Quantizer;
import org.dfq4j.rewrite.engine.RewriteLog;
import org.dfq4j.rewrite.engine.Rewritten;
import org.dfq4j.rewrite.graph.Network;
import org.dfq4j.rewrite.graph.TensorRange;
import org.dfq4j.rewrite.quant.QuantScheme;
import org.dfq4j.rewrite.quant.RangeSpec;
import org.nd4j.autodiff.samediff.SDVariable;
import org.nd4j.autodiff.samediff.SameDiff;
import org.nd4j.autodiff.samediff.VariableType;
import org.nd4j.linalg.api.ndarray.INDArray;

/**
 * The reference project's README table for one model: rows original / replace relu6 / +equalization /
 * +absorption / +bias correction, then equalization keeping ReLU6 (with and without correction) and
 * per-channel weights; columns FP32, weights-only 8-bit (W8) and weights-and-activations 8-bit (W8A8),
 * each scored on the task and compared with the original FP32 run (fidelity). Each row is one
 * {@link Quantizer} run.
 */
final class DfqTable {

    /** One row: a recipe, or the reason it cannot run on this model. */
    record Row(String name, DfqRecipe recipe, String unavailable) {
    }

    /** A cell: the task's metrics and the fidelity to the original FP32 run. */
    record Cell(@JsonIgnore Map<String, Double> metrics, @JsonIgnore Map<String, Double> fidelity, double imagesPerSecond) {

        /** Metrics, then fidelity as fidelity_KEY, in JSON. */
        @JsonAnyGetter
        Map<String, Double> values() {
            Map<String, Double> m = new LinkedHashMap<>(metrics);
            fidelity.forEach((k, v) -> m.put("fidelity_" + k, v));
            return m;
        }
    }

    /**
     * @param extra the cells of the extra bit widths ({@code --bits}), by label, e.g. "W6A8"
     */
    record Result(Row row, Cell fp32, Cell w8, Cell w8a8, String rangeSource, double pipelineSeconds, List<String> notes,
                  RewriteLog log, Map<String, Cell> extra) {
    }

    /** An extra column: weight and activation bit widths. */
    record Bits(int weights, int activations) {

        /** e.g. "W6A8". */
        String label() {
            return "W" + weights + "A" + activations;
        }

        /** Parses "W/A[,W/A...]", e.g. "8/8,6/8,4/8". */
        static List<Bits> parse(String text) {
            List<Bits> out = new ArrayList<>();
            for (String part : text.split(",")) {
                String[] wa = part.trim().split("/");
                try {
                    if (wa.length != 2) {
                        throw new NumberFormatException();
                    }
                    Bits b = new Bits(Integer.parseInt(wa[0].trim()), Integer.parseInt(wa[1].trim()));
                    if (Math.min(b.weights, b.activations) < QuantScheme.MIN_BITS
                            || Math.max(b.weights, b.activations) > QuantScheme.MAX_BITS) {
                        throw new org.dfq4j.rewrite.DfqException("--bits " + part.trim() + ": bit widths are "
                                + QuantScheme.MIN_BITS + " to " + QuantScheme.MAX_BITS);
                    }
                    out.add(b);
                } catch (NumberFormatException e) {
                    throw new org.dfq4j.rewrite.DfqException("--bits '" + part.trim()
                            + "' is not W/A (weight bits / activation bits), e.g. --bits 8/8,6/8,4/8");
                }
            }
            return out;
        }
    }

    private final Task task;
    private final Calibration calibration;
    private final TensorRange inputRange;
    private final PrintWriter progress;
    private final boolean lower;
    private final List<Bits> extraBits;

    /** {@code lower}: run W8A8 networks lowered rather than with ND4J's fake-quant ops. */
    DfqTable(Task task, Calibration calibration, TensorRange inputRange, PrintWriter progress, boolean lower) {
        this(task, calibration, inputRange, progress, lower, List.of());
    }

    /** With extra columns for other bit widths (weights and activations quantized, the row's scheme otherwise). */
    DfqTable(Task task, Calibration calibration, TensorRange inputRange, PrintWriter progress, boolean lower,
             List<Bits> extraBits) {
        this.task = task;
        this.calibration = calibration;
        this.inputRange = inputRange;
        this.progress = progress;
        this.lower = lower;
        this.extraBits = List.copyOf(extraBits);
    }

    /** The extra bit widths ({@code --bits}), in the order given. */
    List<Bits> extraBits() {
        return extraBits;
    }

    /** The labels of the extra columns, e.g. ["W6A8", "W4A8"]. */
    List<String> extraLabels() {
        return extraBits.stream().map(Bits::label).toList();
    }

    /**
     * The rows for a model, given the quantization settings every row shares ({@code base}), whether
     * its folded graph has BatchNorm statistics and the correction asked for (none: analytic when
     * possible, else empirical on calibration images).
     */
    static List<Row> rows(DfqRecipe base, boolean hasStats, DfqRecipe.Correction requested) {
        DfqRecipe naive = base.toBuilder().replaceRelu6(false).equalize(false).absorb(false)
                .correction(DfqRecipe.Correction.NONE).build();
        DfqRecipe.Correction correction = requested != DfqRecipe.Correction.NONE ? requested
                : hasStats ? DfqRecipe.Correction.ANALYTIC : DfqRecipe.Correction.EMPIRICAL;
        String noStats = "needs BatchNorm statistics; this model was BN-folded at export";
        boolean correctionPossible = hasStats || correction.empirical();
        List<Row> rows = new ArrayList<>();
        rows.add(new Row("original", naive, null));
        rows.add(row("replace relu6", naive.toBuilder().replaceRelu6(true), true, null));
        rows.add(row("+equalization", naive.toBuilder().replaceRelu6(true).equalize(true), true, null));
        rows.add(row("+absorption", naive.toBuilder().replaceRelu6(true).equalize(true).absorb(true), hasStats, noStats));
        rows.add(row("+bias correction", naive.toBuilder().replaceRelu6(true).equalize(true).absorb(hasStats)
                .correction(correction), correctionPossible, noStats));
        rows.add(row("equalization, ReLU6 kept", naive.toBuilder().equalize(true), true, null));
        rows.add(row("equalization, ReLU6 kept, +correction", naive.toBuilder().equalize(true).absorb(hasStats)
                .correction(correction), correctionPossible, noStats));
        rows.add(row("per-channel weights", naive.toBuilder().weights(QuantScheme.perChannel(base.weights().bits(),
                base.weights().symmetric())), true, null));
        return rows;
    }

    private static Row row(String name, DfqRecipe.Builder recipe, boolean possible, String why) {
        return possible ? new Row(name, recipe.build(), null) : new Row(name, null, why);
    }

    /** Whether the table has a W8A8 column: the rows' activation ranges are not "none" for this network. */
    static boolean withActivations(Network original, List<Row> rows) {
        return !rows.isEmpty() && rows.get(0).recipe().activationRanges()
                .resolve(DfqRecipe.hasStatistics(original)).kind() != RangeSpec.Kind.NONE;
    }

    /** The precisions of every row. */
    static List<Precision> precisions(boolean withActivations) {
        return withActivations ? List.of(Precision.FP32, Precision.W8, Precision.W8A8)
                : List.of(Precision.FP32, Precision.W8);
    }

    /**
     * The cells of a table: every precision of every row that can run, then that row's extra bit widths
     * ({@code extraBits}, each once), the reference (the first row's FP32 run, which fidelity is measured
     * against) first.
     */
    static List<TableCell> cells(List<Row> rows, boolean withActivations, List<Bits> extraBits) {
        List<TableCell> cells = new ArrayList<>();
        for (int i = 0; i < rows.size(); i++) {
            if (rows.get(i).recipe() != null) {
                for (Precision p : precisions(withActivations)) {
                    cells.add(new TableCell(i, p));
                }
                for (Bits b : new LinkedHashSet<>(extraBits)) {
                    cells.add(TableCell.extra(i, b));
                }
            }
        }
        return cells;
    }

    /**
     * Runs every row on a copy of {@code original}, on all photographs at once (one shard); fidelity is
     * measured against the first row's FP32 run.
     */
    List<Result> run(Network original, List<Row> rows) {
        List<Precision> precisions = precisions(withActivations(original, rows));
        List<Result> results = new ArrayList<>();
        Serializable reference = null;
        for (Row row : rows) {
            Map<Precision, List<TablePiece>> pieces = new EnumMap<>(Precision.class);
            Map<String, List<TablePiece>> extra = new LinkedHashMap<>();
            if (row.recipe() != null) {
                List<TablePiece> made = evaluate(original, row, precisions, extraBits, task, reference);
                if (reference == null) {
                    reference = made.get(0).outputs();
                }
                for (int k = 0; k < precisions.size(); k++) {
                    pieces.put(precisions.get(k), List.of(made.get(k).withoutOutputs()));
                }
                for (int k = 0; k < extraBits.size(); k++) {
                    extra.put(extraBits.get(k).label(), List.of(made.get(precisions.size() + k).withoutOutputs()));
                }
            }
            results.add(result(row, pieces, extra));
        }
        return results;
    }

    /**
     * Row {@code row} at {@code precisions} on the photographs of {@code on} (this table's task or a
     * slice of it): the float pipeline on a copy of {@code original}, then each precision's network,
     * run and tallied. Fidelity is against {@code reference} (the reference run's outputs on the same
     * photographs); when null, the first precision's run is the reference and its piece keeps its
     * outputs. The one evaluation of a table, on one machine or on a cluster's executors.
     */
    List<TablePiece> evaluate(Network original, Row row, List<Precision> precisions, Task on, Serializable reference) {
        return evaluate(original, row, precisions, List.of(), on, reference);
    }

    /**
     * As {@link #evaluate(Network, Row, List, Task, Serializable)}, then one piece per extra bit width
     * ({@code --bits}: weights and activations quantized, the row's scheme otherwise) after the
     * precisions' pieces, on the same float pipeline.
     */
    List<TablePiece> evaluate(Network original, Row row, List<Precision> precisions, List<Bits> bits, Task on,
                              Serializable reference) {
        Quantizer quantizer = Quantizer.builder(row.recipe()).calibration(calibration).inputRange(inputRange)
                .lowered(lower).build();
        long t0 = System.nanoTime();
        Rewritten prepared = quantizer.floatPipeline(original);
        double floatSeconds = (System.nanoTime() - t0) / 1e9;
        List<TablePiece> pieces = new ArrayList<>();
        Serializable ref = reference;
        for (Precision p : precisions) {
            Network net = prepared.network();
            RewriteLog log = prepared.log();
            String ranges = "";
            double seconds = floatSeconds;
            if (p != Precision.FP32) {
                QuantizedNetwork q = p == Precision.W8 ? quantizer.quantizeWeights(prepared) : quantizer.quantize(prepared);
                net = p == Precision.W8 ? q.network() : q.executable();
                log = q.log();
                ranges = p == Precision.W8 ? "" : q.ranges();
                seconds = q.seconds();
            }
            TablePiece piece = piece(on, net, row.name() + " " + p, log, ranges, seconds, ref);
            pieces.add(piece);
            ref = ref == null ? piece.outputs() : ref;
        }
        for (Bits b : bits) {
            DfqRecipe other = row.recipe().toBuilder().weights(new QuantScheme(b.weights(), row.recipe().weights()
                    .symmetric(), row.recipe().weights().perChannel(), row.recipe().weights().channelAxis()))
                    .activationBits(b.activations()).build();
            QuantizedNetwork q = Quantizer.builder(other).calibration(calibration).inputRange(inputRange)
                    .lowered(lower).build().quantize(prepared);
            Network net = q.executable();
            TablePiece piece = piece(on, net, row.name() + " " + b.label(), q.log(), q.ranges(), q.seconds(), ref);
            pieces.add(piece);
            ref = ref == null ? piece.outputs() : ref;
        }
        return pieces;
    }

    /**
     * One cell's piece: {@code net} run on {@code on} and tallied against {@code reference}; with no
     * reference, this run is the reference, and its piece keeps its outputs and describe lines.
     */
    private static TablePiece piece(Task on, Network net, String name, RewriteLog log, String ranges, double seconds,
                                    Serializable reference) {
        Task.Run run = on.run(net, name, reference);
        boolean isReference = reference == null;
        return new TablePiece(run.tally(), isReference ? run.outputs() : null, log, ranges, seconds, 0, fingerprint(net),
                List.of(), isReference ? run.described() : List.of());
    }

    /**
     * The table from every cell's pieces, each cell's in photograph order (shards combined by their
     * tallies' {@code plus}); the progress line of each row as it is assembled.
     *
     * @throws DfqException when the shards of a cell evaluated different networks (the rewrite is not
     *     deterministic across the machines that made them)
     */
    List<Result> assemble(List<Row> rows, Map<TableCell, List<TablePiece>> pieces) {
        List<Result> results = new ArrayList<>();
        for (int i = 0; i < rows.size(); i++) {
            Map<Precision, List<TablePiece>> row = new EnumMap<>(Precision.class);
            for (Precision p : Precision.values()) {
                List<TablePiece> ps = pieces.get(new TableCell(i, p));
                if (ps != null) {
                    row.put(p, ps);
                }
            }
            Map<String, List<TablePiece>> extra = new LinkedHashMap<>();
            for (Bits b : extraBits) {
                List<TablePiece> ps = pieces.get(TableCell.extra(i, b));
                if (ps != null) {
                    extra.put(b.label(), ps);
                }
            }
            results.add(result(rows.get(i), row, extra));
        }
        return results;
    }

    private Result result(Row row, Map<Precision, List<TablePiece>> pieces, Map<String, List<TablePiece>> extraPieces) {
        if (row.recipe() == null) {
            progress.printf("%-38s n/a: %s%n", row.name(), row.unavailable());
            progress.flush();
            return new Result(row, null, null, null, "", 0, List.of(row.unavailable()), new RewriteLog(), Map.of());
        }
        // the reference run's describe lines (as dfq eval prints them), shard by shard, each said once
        pieces.get(Precision.FP32).stream().flatMap(p -> p.described().stream()).distinct().forEach(progress::println);
        TablePiece fp32 = pieces.get(Precision.FP32).get(0);
        TablePiece w8 = pieces.get(Precision.W8).get(0);
        List<TablePiece> w8a8 = pieces.get(Precision.W8A8);
        RewriteLog log = new RewriteLog();
        log.addAll(fp32.log());
        log.addAll(w8.log());
        if (w8a8 != null) {
            log.addAll(w8a8.get(0).log());
        }
        Map<String, Cell> extra = new LinkedHashMap<>();
        extraPieces.forEach((label, ps) -> extra.put(label, cell(row, label, ps)));
        Result r = new Result(row, cell(row, Precision.FP32, pieces), cell(row, Precision.W8, pieces),
                w8a8 == null ? null : cell(row, Precision.W8A8, pieces), w8a8 == null ? "none" : w8a8.get(0).ranges(),
                fp32.rewriteSeconds() + w8.rewriteSeconds(), notes(log), log, extra);
        progress.printf("%-38s %s%n", row.name(), summary(r));
        progress.flush();
        return r;
    }

    private static Cell cell(Row row, Precision p, Map<Precision, List<TablePiece>> pieces) {
        return cell(row, p.toString(), pieces.get(p));
    }

    /** The cell of column {@code p} (a precision or an extra bit width's label) from its shards' pieces. */
    private static Cell cell(Row row, String p, List<TablePiece> ps) {
        Task.Tally t = ps.get(0).tally();
        for (TablePiece piece : ps.subList(1, ps.size())) {
            if (!piece.fingerprint().equals(ps.get(0).fingerprint())) {
                throw new DfqException("row '" + row.name() + "' " + p + " was rewritten differently on different"
                        + " machines (network fingerprints " + ps.get(0).fingerprint().substring(0, 12) + " and "
                        + piece.fingerprint().substring(0, 12) + "); give every executor the same ND4J natives and"
                        + " thread count");
            }
            t = t.plus(piece.tally());
        }
        return new Cell(t.metrics(), t.fidelity(), t.images() / t.seconds());
    }

    /** SHA-256 of a network's ops and arrays, in graph order. */
    static String fingerprint(Network net) {
        MessageDigest sha;
        try {
            sha = MessageDigest.getInstance("SHA-256");
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException(e);
        }
        SameDiff sd = net.sameDiff();
        sd.getOps().forEach((name, op) -> sha.update((name + ":" + op.getOp().opName() + ";").getBytes(StandardCharsets.UTF_8)));
        for (SDVariable v : sd.variables()) {
            sha.update((v.name() + ":" + v.getVariableType() + ";").getBytes(StandardCharsets.UTF_8));
            INDArray a = v.getVariableType() == VariableType.CONSTANT || v.getVariableType() == VariableType.VARIABLE
                    ? v.getArr() : null;
            if (a != null) {
                sha.update(Arrays.toString(a.shape()).getBytes(StandardCharsets.UTF_8));
                sha.update(a.dup('c').data().asBytes());
            }
        }
        return HexFormat.of().formatHex(sha.digest());
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
        r.extra().forEach((k, c) -> sb.append(" | ").append(k).append(" ").append(format(c)));
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

    /**
     * A row of the table as its JSON holds it. Classification rows also carry the headline numbers
     * flat (fp32Top1, w8Top1, int8Top1 ...), the int8 column being W8A8 when activations were quantized.
     */
    @JsonInclude(JsonInclude.Include.NON_NULL)
    record RowReport(String row, String model, String task, boolean available, String reason, RecipeReport pipeline,
                     Double fp32Top1, Double fp32Top5, Double w8Top1, Double int8Top1, Double int8Top5, String int8,
                     String actRange, Cell fp32, Cell w8, Cell w8a8, Map<String, Cell> bits, Double pipelineSeconds,
                     List<String> notes, String backend) {

        static RowReport of(Result r, String task, String model, String backend) {
            if (r.row().recipe() == null) {
                return new RowReport(r.row().name(), model, task, false, r.row().unavailable(), null, null, null,
                        null, null, null, null, null, null, null, null, null, null, null, null);
            }
            Cell int8 = r.w8a8() != null ? r.w8a8() : r.w8();
            boolean top = r.fp32().metrics().containsKey("top1");
            return new RowReport(r.row().name(), model, task, true, null, RecipeReport.of(r.row().recipe()),
                    top ? r.fp32().metrics().get("top1") : null, top ? r.fp32().metrics().get("top5") : null,
                    top ? r.w8().metrics().get("top1") : null, top ? int8.metrics().get("top1") : null,
                    top ? int8.metrics().get("top5") : null, r.w8a8() != null ? "W8A8" : "W8", r.rangeSource(),
                    r.fp32(), r.w8(), r.w8a8(), r.extra().isEmpty() ? null : r.extra(), r.pipelineSeconds(), r.notes(),
                    backend);
        }
    }
}
