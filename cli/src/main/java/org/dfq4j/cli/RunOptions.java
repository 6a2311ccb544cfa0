package org.dfq4j.cli;

import org.dfq4j.eval.runtime.Backend;
import org.dfq4j.rewrite.DfqException;
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
        return threads == null ? Backend.current() : Backend.useThreads(threads);
    }
}
