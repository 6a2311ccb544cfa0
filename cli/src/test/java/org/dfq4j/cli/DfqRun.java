package org.dfq4j.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.io.InputStream;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.DigestInputStream;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.HexFormat;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.stream.Stream;

/**
 * Runs the {@code dfq} command line in this JVM and checks that it modified no input: every file
 * an argument names (a model, labels, annotations, a bench result to compare) and every file below a
 * folder an argument names (photographs, a TF.js model folder) has the same SHA-256 after the
 * command as before it. Arguments of the output options are outputs, not inputs.
 */
record DfqRun(int code, String out, String err) {

    /** Options whose argument is written, not read. */
    static final Set<String> OUTPUT_OPTIONS = Set.of("--out", "--json", "--markdown", "--save-overlays", "--report");

    static DfqRun dfq(String... args) {
        Map<Path, String> before = inputChecksums(args);
        StringWriter out = new StringWriter();
        StringWriter err = new StringWriter();
        int code = Dfq.execute(new PrintWriter(out), new PrintWriter(err), args);
        Map<Path, String> after = checksums(before.keySet());
        assertEquals(before, after, "dfq " + String.join(" ", args) + " modified an input");
        return new DfqRun(code, out.toString(), err.toString());
    }

    /** Runs a command that must succeed and returns its standard output. */
    static String ok(String... args) {
        DfqRun r = dfq(args);
        assertEquals(0, r.code(), "dfq " + String.join(" ", args) + " failed: " + r.err());
        return r.out();
    }

    /** Asserts exit code 2 and exactly one stderr line starting "dfq: error: " that contains every {@code names}. */
    DfqRun failsWithOneLine(String... names) {
        assertEquals(2, code, "exit code; stderr: " + err);
        List<String> lines = err.lines().toList();
        assertEquals(1, lines.size(), "one line expected: " + err);
        assertTrue(lines.get(0).startsWith("dfq: error: "), lines.get(0));
        for (String n : names) {
            assertTrue(lines.get(0).contains(n), "error should name " + n + ": " + lines.get(0));
        }
        return this;
    }

    /** The files the arguments name as inputs, with their SHA-256. */
    static Map<Path, String> inputChecksums(String... args) {
        Map<Path, String> sums = new LinkedHashMap<>();
        for (int i = 0; i < args.length; i++) {
            if (OUTPUT_OPTIONS.contains(args[i])) {
                i++;
                continue;
            }
            String a = args[i].contains("=") && args[i].startsWith("--") ? args[i].substring(args[i].indexOf('=') + 1) : args[i];
            Path p;
            try {
                p = Path.of(a);
            } catch (RuntimeException e) {
                continue;
            }
            if (Files.isRegularFile(p)) {
                sums.put(p.toAbsolutePath(), sha256(p));
            } else if (Files.isDirectory(p)) {
                try (Stream<Path> s = Files.walk(p, 4)) {
                    s.filter(Files::isRegularFile).forEach(f -> sums.put(f.toAbsolutePath(), sha256(f)));
                } catch (IOException e) {
                    throw new UncheckedIOException(e);
                }
            }
        }
        return sums;
    }

    private static Map<Path, String> checksums(Set<Path> files) {
        Map<Path, String> sums = new LinkedHashMap<>();
        for (Path f : files) {
            sums.put(f, Files.isRegularFile(f) ? sha256(f) : "(missing)");
        }
        return sums;
    }

    static String sha256(Path f) {
        try (InputStream in = new DigestInputStream(Files.newInputStream(f), MessageDigest.getInstance("SHA-256"))) {
            in.transferTo(java.io.OutputStream.nullOutputStream());
            return HexFormat.of().formatHex(((DigestInputStream) in).getMessageDigest().digest());
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException(e);
        }
    }
}
