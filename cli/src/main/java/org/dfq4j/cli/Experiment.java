package org.dfq4j.cli;

import java.io.PrintWriter;
import java.nio.file.Path;
import java.util.Map;
import java.util.function.BiConsumer;
import org.dfq4j.eval.runtime.Backend;
import org.dfq4j.rewrite.DfqRecipe;
import org.dfq4j.rewrite.graph.Network;
import org.dfq4j.zoo.ModelFiles;
import picocli.CommandLine.Mixin;

/**
 * What eval and table share: the model, what it is evaluated on, the recipe's rewrites and
 * quantization, and how it runs.
 */
final class Experiment {

    @Mixin
    ModelOption model;

    @Mixin
    TaskOptions task;

    @Mixin
    RecipeOptions rewrites;

    @Mixin
    QuantOptions quant;

    @Mixin
    RunOptions run;

    /**
     * Everything a run starts from: the backend (said on {@code out}), the task with its data, the
     * model, whether it has BatchNorm statistics, and the recipe the flags describe.
     */
    record Started(Backend backend, TaskOptions.Built built, Network network, boolean hasStats, DfqRecipe recipe) {
    }

    /**
     * Applies the run options and builds the task; checks the outputs {@code outputs} declares on a
     * plan that knows every input (nothing has run yet); leaves out undecodable photographs if asked;
     * then reads the model and builds the recipe (rewrites as given or not).
     */
    Started start(PrintWriter out, boolean withRewrites, ForceOption force, BiConsumer<OutputPlan, Task> outputs) {
        if (withRewrites) {
            RecipeOptions.requireEqualizationForStrength(rewrites.applyTo(DfqRecipe.builder()).build());
        }
        if (task.holdout != null && quant.calibImages != null) {
            throw new org.dfq4j.rewrite.DfqException(
                    "--holdout and --calib-images both name the calibration photographs: give one");
        }
        Backend backend = run.apply();
        out.println(backend.describe());
        TaskOptions.Built all = task.forModel(model.path).build(run.batch, System.err);
        OutputPlan plan = force.plan().inputs(ModelFiles.files(model.path)).inputs(task.inputs()).input(quant.calibImages);
        outputs.accept(plan, all.task());
        plan.check();
        TaskOptions.Built built = task.withoutUndecodable(all, run.batch, System.err);
        built.reportSkipped(out);
        return started(backend, built, withRewrites);
    }

    /**
     * What a cluster worker starts a table from: the same as {@link #start} without output checks,
     * progress or decoding every photograph (the same default preprocessing for the model's format);
     * {@code skipped} are the photographs the driver left out.
     */
    Started startWorker(Map<Path, String> skipped) {
        return started(run.apply(), task.forModel(model.path).build(run.batch, null, skipped), false);
    }

    private Started started(Backend backend, TaskOptions.Built built, boolean withRewrites) {
        Network network = model.read();
        DfqRecipe.Builder b = withRewrites ? rewrites.applyTo(DfqRecipe.builder()) : DfqRecipe.builder();
        // --holdout N: the N held-out photographs are the calibration set, all of them used unless --calib says
        DfqRecipe recipe = quant.applyTo(b, task.holdout != null ? built.heldOut().size()
                : DfqRecipe.DEFAULT_CALIBRATION_IMAGES).build();
        return new Started(backend, built, network, DfqRecipe.hasStatistics(network), recipe);
    }
}
