package org.dfq4j.cli;

import java.io.PrintWriter;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.Callable;
import java.util.function.Consumer;
import org.dfq4j.eval.image.Preprocessing;
import org.dfq4j.rewrite.DfqException;
import org.dfq4j.rewrite.DfqRecipe;
import org.dfq4j.rewrite.graph.Network;
import org.dfq4j.rewrite.quant.RangeSpec;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Spec;

/** {@code dfq table}: the reference README's table (rows x FP32 / W8 / W8A8) for one model. */
@Command(name = "table", mixinStandardHelpOptions = true,
        description = "The reference project's table for one model: original / replace relu6 / +equalization / "
                + "+absorption / +bias correction / equalization keeping ReLU6 / per-channel, each in FP32, "
                + "8-bit weights (W8) and 8-bit weights and activations (W8A8), and other bit widths with --bits.")
final class TableCommand implements Callable<Integer> {

    @Spec
    CommandSpec spec;

    @Mixin
    Experiment setup;

    @Mixin
    TableOutput output;

    @Option(names = "--spark", paramLabel = "MASTER",
            description = "run the table on Apache Spark: local[N], spark://HOST:PORT, yarn, k8s://... (needs the "
                    + "distributed module's jar; see README)")
    String spark;

    @Option(names = "--shards", paramLabel = "N",
            description = "with --spark: split the photographs into N shards (default: Spark's default parallelism)")
    Integer shards;

    @Option(names = "--bits", paramLabel = "W/A[,W/A...]",
            description = "extra columns for other bit widths, weights/activations quantized, e.g. 8/8,6/8,4/8 "
                    + "(with --rounding datafree for 6 bits and fewer; with --spark each is a cell of its own)")
    String bits;

    /** With --spark: the inputs on a shared file system this command reads through local mirrors, or null. */
    private TableInputs inputs;

    @Override
    public Integer call() {
        PrintWriter out = spec.commandLine().getOut();
        String given = setup.rewrites.floatRewriteFlags();
        if (!given.isEmpty()) {
            throw new DfqException("dfq table runs every row itself; drop " + given + " (use dfq eval for one recipe)");
        }
        if (shards != null && (spark == null || shards < 1)) {
            throw new DfqException(spark == null ? "--shards needs --spark" : "--shards must be at least 1, got " + shards);
        }
        if (bits != null) {
            DfqTable.Bits.parse(bits); // a bad --bits fails before the model is read
        }
        TableScheduler scheduler = spark == null ? null : TableJob.scheduler();
        if (scheduler != null && inputs == null) {
            TableInputs shared = scheduler.inputs(spec.root().commandLine().getParseResult().originalArgs(), out);
            if (shared != null) {
                return onMirrors(shared, out);
            }
        }
        Experiment.Started started = setup.start(out, false, output.force, (plan, task) -> output.declare(plan));
        TaskOptions.Built built = started.built();
        Network net = started.network();
        boolean hasStats = started.hasStats();
        DfqRecipe base = started.recipe();
        RangeSpec range = base.activationRanges().resolve(hasStats);
        boolean withActivations = range.kind() != RangeSpec.Kind.NONE;
        out.printf("model: %s (%s), task: %s, %s%n", net.name(), net.properties().getOrDefault("format", "?"),
                built.task().name(), display(built.description()));
        out.printf("preprocess: %s%n", setup.task.describePreprocessing());
        out.printf("weights: %s; activations: %s%s%n", base.weights(),
                withActivations ? base.activationBits() + "-bit per-tensor, ranges from " + range : "float (--act-range none)",
                hasStats ? "" : "; no BatchNorm statistics (BN folded at export)");
        DfqTable table = table(built, out);
        List<DfqTable.Row> rows = DfqTable.rows(base, hasStats, setup.rewrites.correct);
        List<DfqTable.Result> results;
        if (scheduler == null) {
            results = table.run(net, rows);
        } else {
            TableJob job = new TableJob(spec.root().commandLine().getParseResult().originalArgs(),
                    List.copyOf(built.skipped().keySet()), DfqTable.cells(rows, withActivations, table.extraBits()),
                    built.task().size(), shards, inputs);
            Map<TableCell, List<TablePiece>> pieces = new LinkedHashMap<>();
            scheduler.run(job, spark, out).forEach((cell, ps) -> pieces.put(cell, ps.stream()
                    .map(p -> p.renamed(this::display)).toList()));
            pieces.values().stream().flatMap(List::stream).flatMap(p -> p.warnings().stream()).distinct()
                    .forEach(out::println);
            results = table.assemble(rows, pieces);
        }
        output.report(out, table, results, built.task().name(), net.name(), started.backend().name(), "Model: " + net.name() + ", "
                + built.task().name() + ", " + display(built.description()));
        return 0;
    }

    /**
     * This command on the local mirrors of {@code shared} (the same command line, parsed again with the
     * mirrors' paths): photographs are listed here, never read here; the workers fetch their shards'.
     */
    private int onMirrors(TableInputs shared, PrintWriter out) {
        if (setup.task.skipBadImages) {
            throw new DfqException("--skip-bad-images decodes every photograph on this machine; with photographs"
                    + " on a shared file system (URIs) leave it out");
        }
        CommandLine.ParseResult parsed = Dfq.commandLine(spec.commandLine().getErr())
                .parseArgs(shared.localArgs().toArray(new String[0]));
        TableCommand local = (TableCommand) parsed.subcommand().commandSpec().userObject();
        local.spec.commandLine().setOut(out);
        local.inputs = shared;
        return local.call();
    }

    private String display(String text) {
        return inputs == null ? text : inputs.display(text);
    }

    /** The table of this command's options on {@code built}'s task; calibration warnings to {@code out}. */
    DfqTable table(TaskOptions.Built built, PrintWriter out) {
        return table(built, out, files -> { });
    }

    /** As {@link #table(TaskOptions.Built, PrintWriter)}; {@code beforeReading} hears of calibration photographs first. */
    DfqTable table(TaskOptions.Built built, PrintWriter out, Consumer<List<Path>> beforeReading) {
        Preprocessing pre = setup.task.preprocessing();
        List<DfqTable.Bits> extra = bits == null ? List.of() : DfqTable.Bits.parse(bits);
        return new DfqTable(built.task(), setup.quant.calibration(pre, built.photographs(), built.heldOut(),
                setup.task.skipBadImages, out, beforeReading),
                pre.valueRange(), out, setup.quant.lowered(FakeQuantMode.OPS), extra);
    }
}
