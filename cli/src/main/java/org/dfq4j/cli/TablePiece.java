package org.dfq4j.cli;

import java.io.Serializable;
import java.util.List;
import java.util.function.UnaryOperator;
import org.dfq4j.rewrite.engine.RewriteLog;

/**
 * One table cell evaluated on one shard of the photographs: the task's additive tally (with fidelity
 * against the reference run on the same photographs), the run's outputs when it is the reference,
 * what the cell's rewrite step logged, and timings. Serializable: pieces are made on cluster executors
 * and combined on the driver ({@link DfqTable#assemble}).
 *
 * @param ranges         the activation range source (W8A8), else empty
 * @param rewriteSeconds this precision's rewrite step (the float pipeline for FP32; quantization otherwise)
 * @param setupSeconds   reading the model and building the task before this piece, on a worker that had
 *                       not yet done so (0 otherwise, and on one machine)
 * @param fingerprint    SHA-256 of the evaluated network (graph and arrays): every shard of a cell must
 *                       have evaluated the same network
 * @param warnings       what making the piece warned about (e.g. calibrating on evaluation photographs), for
 *                       the driver to say once
 * @param described      the task's {@link Task#describe} lines of the reference run on this shard (e.g. how
 *                       the class file met the model's outputs), else empty
 */
public record TablePiece(Task.Tally tally, Serializable outputs, RewriteLog log, String ranges, double rewriteSeconds,
                         double setupSeconds, String fingerprint, List<String> warnings, List<String> described)
        implements Serializable {

    public TablePiece {
        warnings = List.copyOf(warnings);
        described = List.copyOf(described);
    }

    /** This piece without the reference outputs (what travels to the driver). */
    public TablePiece withoutOutputs() {
        return new TablePiece(tally, null, log, ranges, rewriteSeconds, setupSeconds, fingerprint, warnings, described);
    }

    /** This piece as a worker made it: with its setup time and what it warned about. */
    public TablePiece fromWorker(double seconds, List<String> warned) {
        return new TablePiece(tally, outputs, log, ranges, rewriteSeconds, seconds, fingerprint, warned, described);
    }

    /** This piece with {@code rename} applied to what it says (warnings, describe lines). */
    public TablePiece renamed(UnaryOperator<String> rename) {
        return new TablePiece(tally, outputs, log, ranges, rewriteSeconds, setupSeconds, fingerprint,
                warnings.stream().map(rename).toList(), described.stream().map(rename).toList());
    }

    /** Seconds spent running the network on the shard (decoding included). */
    public double evaluationSeconds() {
        return tally.seconds();
    }

    /** Photographs in the shard. */
    public int images() {
        return tally.images();
    }
}
