package org.dfq4j.cli;

import java.io.PrintWriter;
import org.dfq4j.rewrite.DfqException;
import picocli.CommandLine;
import picocli.CommandLine.Command;

/** The {@code dfq} command: data-free quantization for SameDiff models. */
@Command(name = "dfq", mixinStandardHelpOptions = true, version = "dfq4j 0.1.0",
        description = "Data-free 8-bit quantization (Nagel et al. 2019) for Deeplearning4j SameDiff models.",
        subcommands = {EvalCommand.class, InfoCommand.class, CommandLine.HelpCommand.class})
public final class Dfq implements Runnable {

    @CommandLine.Spec
    CommandLine.Model.CommandSpec spec;

    @Override
    public void run() {
        throw new CommandLine.ParameterException(spec.commandLine(), "missing command: try 'dfq demo' or 'dfq --help'");
    }

    public static void main(String[] args) {
        System.exit(execute(args));
    }

    /** Runs the command line and returns the exit code (0 ok, 1 internal error, 2 user error). */
    public static int execute(String... args) {
        CommandLine cl = new CommandLine(new Dfq());
        cl.setExecutionExceptionHandler((ex, commandLine, parseResult) -> {
            PrintWriter err = commandLine.getErr();
            if (ex instanceof DfqException) {
                err.println("dfq: error: " + ex.getMessage());
                err.flush();
                return 2;
            }
            Throwable root = ex;
            while (root.getCause() instanceof DfqException) {
                root = root.getCause();
            }
            if (root instanceof DfqException) {
                err.println("dfq: error: " + root.getMessage());
                err.flush();
                return 2;
            }
            if (Boolean.getBoolean("dfq.debug")) {
                ex.printStackTrace(err);
            }
            err.println("dfq: internal error: " + ex + " (run with JAVA_OPTS=-Ddfq.debug=true for the stack trace)");
            err.flush();
            return 1;
        });
        cl.setParameterExceptionHandler((ex, a) -> {
            PrintWriter err = ex.getCommandLine().getErr();
            err.println("dfq: " + ex.getMessage());
            err.println("Try '" + ex.getCommandLine().getCommandSpec().qualifiedName() + " --help'.");
            err.flush();
            return 2;
        });
        return cl.execute(args);
    }
}
