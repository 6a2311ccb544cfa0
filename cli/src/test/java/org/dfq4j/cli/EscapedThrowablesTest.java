package org.dfq4j.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.PrintWriter;
import java.io.StringWriter;
import java.util.List;
import org.dfq4j.rewrite.DfqException;
import org.junit.jupiter.api.Test;
import picocli.CommandLine;

/**
 * What a command lets escape becomes exactly one stderr line: an OutOfMemoryError (which picocli's
 * handlers, written for Exceptions, never see) and a DfqException are {@code dfq: error:} with exit
 * 2, anything else is {@code dfq: internal error:} with exit 1 and a hint to report it.
 */
class EscapedThrowablesTest {

    private record Failure(int code, String line) {
    }

    private static Failure failure(Throwable t) {
        StringWriter out = new StringWriter();
        StringWriter err = new StringWriter();
        int code = Dfq.failure(t, new PrintWriter(out), new PrintWriter(err));
        List<String> lines = err.toString().lines().toList();
        assertEquals(1, lines.size(), "one line expected: " + err);
        assertEquals("", out.toString());
        return new Failure(code, lines.get(0));
    }

    @Test
    void anOutOfMemoryErrorIsOneLineWithWhatToDo() {
        for (Throwable t : List.of(new OutOfMemoryError("Java heap space"),
                new CommandLine.ExecutionException(new CommandLine(new Dfq()), "eval failed",
                        new OutOfMemoryError("Java heap space")),
                new ExceptionInInitializerError(new OutOfMemoryError("Java heap space")))) {
            Failure f = failure(t);
            assertEquals(2, f.code(), f.line());
            assertTrue(f.line().startsWith("dfq: error: out of memory (Java heap space)"), f.line());
            assertTrue(f.line().contains("JAVA_OPTS=-Xmx"), f.line());
        }
    }

    @Test
    void aReaderThatRanOutOfMemoryNamesTheFile() {
        Failure f = failure(new DfqException("out of memory while reading m.tflite: the file is corrupt or needs"
                + " more heap (JAVA_OPTS=-Xmx8g)", new OutOfMemoryError("Java heap space")));
        assertEquals(2, f.code());
        assertEquals("dfq: error: out of memory while reading m.tflite: the file is corrupt or needs more heap"
                + " (JAVA_OPTS=-Xmx8g)", f.line());
    }

    @Test
    void aMultiLineMessageBecomesOneLine() {
        Failure f = failure(new DfqException("model.json: layer 'c'\n  stride 0\tmust be >= 1"));
        assertEquals("dfq: error: model.json: layer 'c' stride 0 must be >= 1", f.line());
    }

    @Test
    void aBugIsAnInternalErrorWithAHintToReportIt() {
        Failure f = failure(new IllegalStateException("invariant broken\nat line 2"));
        assertEquals(1, f.code());
        assertTrue(f.line().startsWith("dfq: internal error: java.lang.IllegalStateException: invariant broken at line 2"),
                f.line());
        assertTrue(f.line().contains("please report it"), f.line());
    }
}
