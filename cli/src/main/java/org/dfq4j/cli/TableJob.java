package org.dfq4j.cli;

import java.io.PrintWriter;
import java.io.Serializable;
import java.io.StringWriter;
import java.io.Writer;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.ServiceLoader;
import java.util.UUID;
import java.util.concurrent.ConcurrentHashMap;
import org.dfq4j.rewrite.DfqException;
import org.dfq4j.rewrite.graph.Network;
import picocli.CommandLine;

/**
 * A {@code dfq table} split into pieces for a cluster: a piece is one cell (row, precision or extra
 * bit width) on one shard (a run of consecutive photographs). Serializable and small: it holds the
 * command line, not the model or the photographs. A worker (cluster executor) parses the same command
 * line, reads the model and the photographs of its shard itself and runs the single-machine table's
 * orchestration ({@link DfqTable#evaluate}) on them, rewrite and calibration included, so every worker
 * makes the same networks (their fingerprints are checked when the pieces are combined).
 */
public final class TableJob implements Serializable {

    private static final long serialVersionUID = 1L;

    /** What a worker JVM read once per job: the command, the task on every photograph, the model and rows. */
    private record Worker(TableCommand command, TaskOptions.Built built, Network network, List<DfqTable.Row> rows,
                          double setupSeconds) {
    }

    private static final Map<String, Worker> WORKERS = new ConcurrentHashMap<>();

    private final String id = UUID.randomUUID().toString();
    private final List<String> args;
    private final List<String> skipped;
    private final List<TableCell> cells;
    private final int photographs;
    private final Integer shards;
    private final TableInputs inputs;

    /**
     * @param args        the {@code dfq} command line, subcommand included
     * @param skipped     photographs left out as undecodable (the driver found them once)
     * @param cells       the cells, the reference first ({@link DfqTable#cells})
     * @param photographs how many photographs the task has
     * @param shards      how many shards were asked for, or null for the scheduler's default
     * @param inputs      the inputs on a shared file system, each worker reading its own mirror of them;
     *                    null when every input is a local path (the same on every machine)
     */
    TableJob(List<String> args, List<Path> skipped, List<TableCell> cells, int photographs, Integer shards,
             TableInputs inputs) {
        this.args = List.copyOf(args);
        this.skipped = skipped.stream().map(Path::toString).toList();
        this.cells = List.copyOf(cells);
        this.photographs = photographs;
        this.shards = shards;
        this.inputs = inputs;
    }

    /** A run of consecutive photographs, {@code from} (inclusive) to {@code to} (exclusive). */
    public record Shard(int index, int from, int to) implements Serializable {
    }

    /** Every cell, the reference (whose outputs every other cell's fidelity is measured against) first. */
    public List<TableCell> cells() {
        return cells;
    }

    /** The reference cell: the first row's FP32 run. */
    public TableCell reference() {
        return cells.get(0);
    }

    /** How many photographs the table is evaluated on. */
    public int photographs() {
        return photographs;
    }

    /**
     * The shards: as many as asked for ({@code --shards}), else {@code defaultCount}, never more than
     * there are photographs; consecutive and as equal in size as can be.
     */
    public List<Shard> shards(int defaultCount) {
        int n = Math.max(1, Math.min(photographs, shards != null ? shards : defaultCount));
        return java.util.stream.IntStream.range(0, n)
                .mapToObj(i -> new Shard(i, (int) ((long) photographs * i / n), (int) ((long) photographs * (i + 1) / n)))
                .toList();
    }

    /**
     * Evaluates one cell on one shard, on this machine: what a worker runs. The first call for this job
     * in a JVM reads the model and lists the photographs (timed as the piece's setup); rewrite and
     * calibration run for every piece.
     *
     * @param reference the reference cell's piece on the same shard, with its outputs; null for the
     *                  reference cell itself
     */
    public TablePiece evaluate(TableCell cell, Shard shard, TablePiece reference) {
        boolean[] opened = {false};
        Worker w = WORKERS.computeIfAbsent(id, k -> {
            opened[0] = true;
            return open();
        });
        Network mine;
        synchronized (w) {
            mine = w.network().copy();
        }
        StringWriter warnings = new StringWriter();
        DfqTable table = w.command().table(w.built(), new PrintWriter(warnings, true),
                inputs == null ? files -> { } : inputs::fetch);
        Task slice = w.built().task().slice(shard.from(), shard.to());
        if (inputs != null) {
            inputs.fetch(slice.files());
        }
        DfqTable.Row row = w.rows().get(cell.row());
        Serializable outputs = reference == null ? null : reference.outputs();
        // an extra bit width's cell evaluates its own bits (the cell's), on the row's float pipeline
        TablePiece piece = (cell.bits() == null
                ? table.evaluate(mine, row, List.of(cell.precision()), slice, outputs)
                : table.evaluate(mine, row, List.of(), List.of(cell.extraBits()), slice, outputs)).get(0);
        return piece.fromWorker(opened[0] ? w.setupSeconds() : 0, warnings.toString().lines().toList());
    }

    private Worker open() {
        long t0 = System.nanoTime();
        CommandLine.ParseResult parsed = Dfq.commandLine(new PrintWriter(Writer.nullWriter()))
                .parseArgs((inputs == null ? args : inputs.localArgs()).toArray(new String[0]));
        TableCommand command = (TableCommand) parsed.subcommand().commandSpec().userObject();
        Map<Path, String> bad = new LinkedHashMap<>();
        skipped.forEach(p -> bad.put(Path.of(p), "undecodable"));
        Experiment.Started s = command.setup.startWorker(bad);
        if (s.built().task().size() != photographs) {
            throw new DfqException("a worker sees " + s.built().task().size() + " photographs where the driver saw "
                    + photographs + "; give every machine the same files (absolute paths or URIs)");
        }
        List<DfqTable.Row> rows = DfqTable.rows(s.recipe(), s.hasStats(), command.setup.rewrites.correct);
        return new Worker(command, s.built(), s.network(), rows, (System.nanoTime() - t0) / 1e9);
    }

    /** The scheduler on the class path, or an error saying how to get one. */
    static TableScheduler scheduler() {
        return ServiceLoader.load(TableScheduler.class).findFirst().orElseThrow(() -> new DfqException(
                "--spark needs the distributed module on the class path: run './dfq table --spark ...' (it builds"
                        + " distributed/target/dfq-distributed.jar) or that jar itself (see README, 'dfq table on a cluster')"));
    }
}
