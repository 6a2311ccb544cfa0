package org.dfq4j.cli;

import java.io.PrintWriter;
import org.dfq4j.bench.BenchCommand;
import org.dfq4j.rewrite.DfqException;
import picocli.CommandLine.Command;
import picocli.CommandLine;

/** The {@code dfq} command: data-free quantization for SameDiff models. */
@Command(name = "dfq", mixinStandardHelpOptions = true, version = "dfq4j 0.1.0",
        description = "Data-free 8-bit quantization (Nagel et al. 2019) for Deeplearning4j SameDiff models.",
        subcommands = {DemoCommand.class, EvalCommand.class, TableCommand.class, ExportCommand.class, BenchCommand.class, InfoCommand.class, CommandLine.HelpCommand.class})
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
        return execute(new PrintWriter(System.out, true), new PrintWriter(System.err, true), args);
    }

    /** As {@link #execute(String...)}, with the given output and error streams. */
    public static int execute(PrintWriter out, PrintWriter err, String... args) {
        CommandLine cl = new CommandLine(new Dfq());
        cl.setOut(out);
        cl.setErr(err);
        cl.setExecutionExceptionHandler((ex, commandLine, parseResult) -> {
            PrintWriter e = commandLine.getErr();
            Throwable user = ex;
            while (user != null && !(user instanceof DfqException)) {
                user = user.getCause();
            }
            if (user != null) {
                commandLine.getOut().flush();
                e.println("dfq: error: " + user.getMessage());
                e.flush();
                return 2;
            }
            if (Boolean.getBoolean("dfq.debug")) {
                ex.printStackTrace(e);
            }
            e.println("dfq: internal error: " + ex + " (run with JAVA_OPTS=-Ddfq.debug=true for the stack trace)");
            e.flush();
            return 1;
        });
        cl.setParameterExceptionHandler((ex, a) -> {
            PrintWriter e = ex.getCommandLine().getErr();
            e.println("dfq: " + ex.getMessage());
            e.println("Try '" + ex.getCommandLine().getCommandSpec().qualifiedName() + " --help'.");
            e.flush();
            return 2;
        });
        int code = cl.execute(args);
        out.flush();
        err.flush();
        return code;
    }
}
