package org.dfq4j.cli;

import java.io.PrintWriter;
import java.nio.file.Path;
import java.util.List;
import org.dfq4j.eval.image.Preprocessing;
import org.dfq4j.rewrite.DfqException;
import org.dfq4j.rewrite.DfqRecipe;
import org.dfq4j.rewrite.engine.RewriteLog;
import org.dfq4j.rewrite.engine.Rewritten;
import org.dfq4j.rewrite.graph.Network;
import org.dfq4j.rewrite.quant.RangeSource;
import org.nd4j.linalg.api.ndarray.INDArray;

/**
 * The DFQ pipeline as {@code eval} and {@code export} run it: the float rewrites, then with
 * {@code --quantize} calibration photographs (when the recipe needs them), bias correction, offline
 * weight quantization and activation fake-quant.
 *
 * @param floatNetwork the network after the float rewrites
 * @param result       the float network, or its 8-bit simulation with --quantize
 * @param log          every rewrite applied
 * @param rangeName    where the activation ranges came from ("none" without --quantize)
 * @param seconds      time spent in the pipeline (calibration photographs' decoding excluded)
 */
record PipelineRun(Network floatNetwork, Network result, RewriteLog log, String rangeName, double seconds) {

    /**
     * @param evaluation the evaluation photographs, the calibration fallback when --calib-images is not
     *                   given (with a warning that this leaks); null when there is no fallback
     */
    static PipelineRun run(Network original, DfqRecipe recipe, PipelineOptions pipeline, List<Path> evaluation,
                           Preprocessing preprocessing, PrintWriter out) {
        requirePossible(recipe, pipeline.quantize, DfqRecipe.hasStatistics(original));
        long t0 = System.nanoTime();
        Rewritten prepared = recipe.floatPipeline().run(original);
        RewriteLog log = new RewriteLog();
        log.addAll(prepared.log());
        double seconds = (System.nanoTime() - t0) / 1e9;
        if (!pipeline.quantize) {
            return new PipelineRun(prepared.network(), prepared.network(), log, "none", seconds);
        }
        int images = Math.max(recipe.correction() == DfqRecipe.Correction.EMPIRICAL ? pipeline.calib : 0,
                calibCount(recipe));
        boolean needed = recipe.correction() == DfqRecipe.Correction.EMPIRICAL || recipe.actRange().startsWith("calib:");
        if (needed && pipeline.calibImages == null && evaluation == null) {
            throw new DfqException("--act-range " + recipe.actRange() + (recipe.correction() == DfqRecipe.Correction.EMPIRICAL
                    ? " and --correct=empirical need" : " needs") + " calibration photographs: give --calib-images DIR");
        }
        List<INDArray> calib = needed ? Calibration.load(pipeline.calibImages, evaluation, images, preprocessing,
                original.inputShape(), out) : List.of();
        long t1 = System.nanoTime();
        RangeSource source = RangeSource.parse(recipe.actRange(), recipe.sigmas(), Calibration.inputRange(preprocessing),
                calib);
        Rewritten q = recipe.quantPipeline(source, calib).run(prepared.network());
        seconds += (System.nanoTime() - t1) / 1e9;
        log.addAll(q.log());
        return new PipelineRun(prepared.network(), q.network(), log, source.name(), seconds);
    }

    private static int calibCount(DfqRecipe r) {
        return r.actRange().startsWith("calib:") ? Integer.parseInt(r.actRange().substring("calib:".length())) : 0;
    }

    /** Steps that need BatchNorm statistics on a model that has none: say so instead of doing nothing. */
    private static void requirePossible(DfqRecipe r, boolean quantize, boolean hasStats) {
        if (hasStats) {
            return;
        }
        if (r.absorb()) {
            throw new DfqException("--absorb needs BatchNorm statistics, and this model was BN-folded at export; drop --absorb");
        }
        if (r.correction() == DfqRecipe.Correction.ANALYTIC) {
            throw new DfqException("--correct=analytic needs BatchNorm statistics, and this model was BN-folded at export; "
                    + "use --correct=empirical (with --calib-images DIR)");
        }
        if (quantize && r.actRange().equals("bn")) {
            throw new DfqException("--act-range bn needs BatchNorm statistics, and this model was BN-folded at export; "
                    + "use calib:N, model (without --equalize) or none");
        }
    }
}
