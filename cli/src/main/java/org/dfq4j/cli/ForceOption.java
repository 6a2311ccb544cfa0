package org.dfq4j.cli;

import picocli.CommandLine.Option;

/** {@code --force}, the same for every command that writes files, and the output plan it governs. */
final class ForceOption {

    @Option(names = "--force", description = "replace output files that exist (an input is never replaced)")
    boolean force;

    /** An empty plan of this command's outputs, to be filled and checked before any work. */
    OutputPlan plan() {
        return new OutputPlan(force);
    }
}
