package org.dfq4j.cli;

import org.dfq4j.eval.runtime.Backend;
import org.dfq4j.rewrite.DfqException;
import org.nd4j.linalg.factory.Nd4j;
import picocli.CommandLine.Option;

/** Options shared by the commands that run a network: batch size and thread count. */
final class RunOptions {

    @Option(names = "--batch", paramLabel = "N", defaultValue = "8", description = "batch size (default: ${DEFAULT-VALUE})")
    int batch;

    @Option(names = "--threads", paramLabel = "N", description = "compute threads (default: all cores)")
    Integer threads;

    /** Validates the options, applies the thread count and returns the backend in use. */
    Backend apply() {
        if (batch < 1) {
            throw new DfqException("--batch must be at least 1, got " + batch);
        }
        if (threads != null) {
            if (threads < 1) {
                throw new DfqException("--threads must be at least 1, got " + threads);
            }
            Nd4j.getEnvironment().setMaxThreads(threads);
            Nd4j.getEnvironment().setMaxMasterThreads(threads);
        }
        Backend b = Backend.current();
        return threads == null ? b : b.withThreads(threads);
    }
}
