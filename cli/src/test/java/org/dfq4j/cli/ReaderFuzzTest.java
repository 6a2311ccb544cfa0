package org.dfq4j.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.io.PrintWriter;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.Arrays;
import java.util.Locale;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

/**
 * The reader fuzzer ({@link ReaderFuzzer}) over each seed kind: every mutant must end as a loaded
 * network or a one-line DfqException, with no other exception, no Error and no hang; a loaded mutant
 * that computes NaN or infinity must be reported as such.
 *
 * <p>System properties: {@code dfq.fuzz.cases} (cases per kind, default 200), {@code dfq.fuzz.first}
 * (index of the first case, default 0: a long run may be split into ranges), {@code dfq.fuzz.seed}
 * (default 1), {@code dfq.fuzz.kinds} (e.g. "tflite,onnx"; default all), {@code dfq.fuzz.timeout}
 * (seconds per case, default 120), {@code dfq.fuzz.report} (a file each kind's summary line is
 * appended to). A large run, for example:
 * {@code nice mvn -B test -pl rewrite,zoo,eval,gpu-profile,cli -Dtest=ReaderFuzzTest
 * -Dsurefire.failIfNoSpecifiedTests=false -Ddfq.fuzz.cases=10000}.
 */
class ReaderFuzzTest {

    @TempDir
    Path work;

    @ParameterizedTest
    @EnumSource(ReaderFuzzer.Kind.class)
    void everyMutantLoadsOrIsRefusedInOneLine(ReaderFuzzer.Kind kind) throws IOException {
        String kinds = System.getProperty("dfq.fuzz.kinds", "");
        if (!kinds.isBlank() && Arrays.stream(kinds.split(",")).map(String::trim).noneMatch(kind.id()::equals)) {
            return;
        }
        int cases = Integer.getInteger("dfq.fuzz.cases", 200);
        int first = Integer.getInteger("dfq.fuzz.first", 0);
        long seed = Long.getLong("dfq.fuzz.seed", 1L);
        long timeout = Long.getLong("dfq.fuzz.timeout", 120L);
        PrintWriter progress = new PrintWriter(System.out, true);
        long t0 = System.nanoTime();
        ReaderFuzzer.Summary s = new ReaderFuzzer(work, timeout).run(kind, first, cases, seed, progress);
        String line = s + String.format(Locale.ROOT, " [%.0f s]", (System.nanoTime() - t0) / 1e9);
        System.out.println(line);
        System.out.println("slowest: " + String.join("; ", s.slowest.values()));
        String report = System.getProperty("dfq.fuzz.report");
        if (report != null) {
            Files.writeString(Path.of(report), line + System.lineSeparator() + "  slowest: "
                    + String.join("; ", s.slowest.values()) + System.lineSeparator() + String.join(System.lineSeparator(),
                    s.failures) + (s.failures.isEmpty() ? "" : System.lineSeparator()), StandardCharsets.UTF_8,
                    StandardOpenOption.CREATE, StandardOpenOption.APPEND);
        }
        assertEquals(cases, s.cases);
        assertEquals(0, s.failed(), line + "\n" + String.join("\n", s.failures));
        assertTrue(s.refused > 0 || s.loaded > 0, line);
    }
}
