package org.dfq4j.zoo;

import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Path;
import org.dfq4j.rewrite.DfqException;
import org.junit.jupiter.api.function.Executable;

/** The shape every reader's refusal must have: a one-line DfqException naming the file and what is wrong. */
public final class ReaderAssertions {

    private ReaderAssertions() {
    }

    /** Asserts that {@code read} refuses {@code file} in one line naming it and each of {@code names}. */
    public static DfqException refused(Executable read, Path file, String... names) {
        DfqException e = assertThrows(DfqException.class, read);
        String m = e.getMessage();
        assertFalse(m.contains("\n") || m.contains("\r"), "one line: " + m);
        assertTrue(m.contains(file.toString()), "names the file: " + m);
        for (String s : names) {
            assertTrue(m.contains(s), "names '" + s + "': " + m);
        }
        return e;
    }
}
