package org.dfq4j.cli;

import java.io.PrintWriter;
import org.dfq4j.eval.image.DamagedImageException;
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
        throw new CommandLine.ParameterException(spec.commandLine(), "missing command: try 'dfq demo' or one of "
                + String.join(", ", spec.subcommands().keySet()));
    }

    public static void main(String[] args) {
        System.exit(execute(args));
    }

    /** Runs the command line and returns the exit code (0 ok, 1 internal error, 2 user error). */
    public static int execute(String... args) {
        return execute(new PrintWriter(System.out, true), new PrintWriter(System.err, true), args);
    }

    /**
     * As {@link #execute(String...)}, with the given output and error streams. Whatever goes wrong ends
     * in exactly one line on {@code err}: {@code dfq: error: ...} (exit 2) for a usage error, bad input
     * or running out of memory, {@code dfq: internal error: ...} (exit 1) for a bug.
     */
    public static int execute(PrintWriter out, PrintWriter err, String... args) {
        CommandLine cl = commandLine(err);
        cl.setOut(out);
        cl.setExecutionExceptionHandler((ex, commandLine, parseResult) -> failure(ex, out, err));
        cl.setParameterExceptionHandler((ex, a) -> {
            String hint = ex instanceof CommandLine.UnmatchedArgumentException u && !u.getSuggestions().isEmpty()
                    ? " (did you mean " + String.join(" or ", u.getSuggestions()) + "?)" : "";
            String help = ex.getCommandLine().getCommandSpec().qualifiedName() + " --help";
            return error(out, err, oneLine(ex.getMessage()) + hint + "; see '" + help + "'");
        });
        int code;
        try {
            code = cl.execute(args);
        } catch (Throwable t) { // an Error (OutOfMemoryError) passes picocli's handlers
            code = failure(t, out, err);
        }
        out.flush();
        err.flush();
        return code;
    }

    /** The command line parser of every {@code dfq} command, its errors to {@code err}. */
    static CommandLine commandLine(PrintWriter err) {
        CommandLine cl = new CommandLine(new Dfq()).setCaseInsensitiveEnumValuesAllowed(true);
        cl.setErr(err);
        return cl;
    }

    /** The one line and the exit code for what a command threw. */
    static int failure(Throwable ex, PrintWriter out, PrintWriter err) {
        for (Throwable t = ex; t != null; t = t.getCause()) {
            if (t instanceof DamagedImageException d) {
                return error(out, err, oneLine(d.getMessage()) + " (--skip-bad-images leaves such photographs out)");
            }
            if (t instanceof DfqException d) {
                return error(out, err, oneLine(d.getMessage()));
            }
        }
        for (Throwable t = ex; t != null; t = t.getCause()) {
            if (t instanceof OutOfMemoryError oom) {
                return error(out, err, "out of memory (" + oneLine(String.valueOf(oom.getMessage()))
                        + "): give the JVM more memory (JAVA_OPTS=-Xmx8g, and -Dorg.bytedeco.javacpp.maxbytes for"
                        + " ND4J's) or use a smaller --batch");
            }
        }
        if (Boolean.getBoolean("dfq.debug")) {
            ex.printStackTrace(err);
        }
        out.flush();
        err.println("dfq: internal error: " + oneLine(ex.toString()) + " (a bug in dfq4j: please report it with the"
                + " command line; JAVA_OPTS=-Ddfq.debug=true prints the stack trace)");
        err.flush();
        return 1;
    }

    private static int error(PrintWriter out, PrintWriter err, String message) {
        out.flush();
        err.println("dfq: error: " + message);
        err.flush();
        return 2;
    }

    /** A message as one line: line breaks and runs of white space become one space. */
    static String oneLine(String message) {
        return message == null ? "" : message.replaceAll("\\s+", " ").trim();
    }
}
