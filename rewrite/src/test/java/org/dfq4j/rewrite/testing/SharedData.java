package org.dfq4j.rewrite.testing;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Optional;
import org.junit.jupiter.api.Assumptions;

/**
 * Locates the real models and photographs (../shared/data beside the project root). Order: system
 * property {@code dfq.data}, environment variable {@code DFQ_DATA}, then {@code ../shared/data}
 * relative to the working directory and its parents. Tests skip with a one-line reason when absent.
 */
public final class SharedData {
    public static final String PROPERTY = "dfq.data";
    public static final String ENV = "DFQ_DATA";

    private SharedData() {
    }

    public static Optional<Path> root() {
        String p = System.getProperty(PROPERTY);
        if (p != null && !p.isBlank() && Files.isDirectory(Path.of(p))) {
            return Optional.of(Path.of(p).toAbsolutePath().normalize());
        }
        String e = System.getenv(ENV);
        if (e != null && !e.isBlank() && Files.isDirectory(Path.of(e))) {
            return Optional.of(Path.of(e).toAbsolutePath().normalize());
        }
        Path dir = Path.of("").toAbsolutePath();
        for (int i = 0; i < 3 && dir != null; i++, dir = dir.getParent()) {
            Path cand = dir.resolve("../shared/data").normalize();
            if (Files.isDirectory(cand)) {
                return Optional.of(cand);
            }
        }
        return Optional.empty();
    }

    /** A file under the data root, if the root exists and the file does. */
    public static Optional<Path> file(String relative) {
        return root().map(r -> r.resolve(relative)).filter(Files::exists);
    }

    /**
     * A file under the data root; when it is absent the calling test is skipped (not failed) with
     * {@link #missing}'s one-line reason.
     */
    public static Path required(String relative) {
        Optional<Path> f = file(relative);
        Assumptions.assumeTrue(f.isPresent(), missing(relative));
        return f.get();
    }

    /** The one-line reason a test gives when it skips for want of a shared file. */
    public static String missing(String relative) {
        return "shared data file " + relative + " not found (set -D" + PROPERTY + " or " + ENV + "); skipping";
    }
}
