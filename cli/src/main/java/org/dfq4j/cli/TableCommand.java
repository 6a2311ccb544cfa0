package org.dfq4j.cli;

import java.io.PrintWriter;
import java.util.List;
import java.util.concurrent.Callable;
import org.dfq4j.eval.image.Preprocessing;
import org.dfq4j.rewrite.DfqException;
import org.dfq4j.rewrite.DfqRecipe;
import org.dfq4j.rewrite.graph.Network;
import org.dfq4j.rewrite.quant.RangeSpec;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
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

    @picocli.CommandLine.Option(names = "--bits", paramLabel = "W/A[,W/A...]",
            description = "extra columns for other bit widths, weights/activations quantized, e.g. 8/8,6/8,4/8 "
                    + "(with --rounding datafree for 6 bits and fewer)")
    String bits;

    @Override
    public Integer call() {
        PrintWriter out = spec.commandLine().getOut();
        String given = setup.rewrites.floatRewriteFlags();
        if (!given.isEmpty()) {
            throw new DfqException("dfq table runs every row itself; drop " + given + " (use dfq eval for one recipe)");
        }
        List<DfqTable.Bits> extra = bits == null ? List.of() : DfqTable.Bits.parse(bits);
        Experiment.Started started = setup.start(out, false, output.force, (plan, task) -> output.declare(plan));
        TaskOptions.Built built = started.built();
        Network net = started.network();
        boolean hasStats = started.hasStats();
        DfqRecipe base = started.recipe();
        RangeSpec range = base.activationRanges().resolve(hasStats);
        boolean withActivations = range.kind() != RangeSpec.Kind.NONE;
        out.printf("model: %s (%s), task: %s, %s%n", net.name(), net.properties().getOrDefault("format", "?"),
                built.task().name(), built.description());
        out.printf("preprocess: %s%n", setup.task.describePreprocessing());
        out.printf("weights: %s; activations: %s%s%n", base.weights(),
                withActivations ? base.activationBits() + "-bit per-tensor, ranges from " + range : "float (--act-range none)",
                hasStats ? "" : "; no BatchNorm statistics (BN folded at export)");
        Preprocessing pre = setup.task.preprocessing();
        DfqTable table = new DfqTable(built.task(), setup.quant.calibration(pre, built.photographs(), built.heldOut(), setup.task.skipBadImages, out), pre.valueRange(),
                out, setup.quant.lowered(FakeQuantMode.OPS), extra);
        List<DfqTable.Result> results = table.run(net, DfqTable.rows(base, hasStats, setup.rewrites.correct));
        output.report(out, table, results, built.task().name(), net.name(), started.backend().name(), "Model: " + net.name() + ", "
                + built.task().name() + ", " + built.description());
        return 0;
    }
}
