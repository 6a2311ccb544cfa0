package org.dfq4j.eval.image;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Comparator;
import java.util.List;
import java.util.Locale;
import java.util.Set;
import java.util.stream.Stream;
import org.dfq4j.rewrite.DfqException;

/** The photographs of a folder: the one rule every dataset and the calibration loader list files by. */
public final class Photographs {

    /** File extensions read as photographs, compared case-insensitively. */
    public static final Set<String> EXTENSIONS = Set.of("jpeg", "jpg", "png", "bmp");

    private Photographs() {
    }

    /**
     * The regular, non-hidden files of {@code directory} with a photograph's extension, sorted by
     * file name.
     *
     * @throws DfqException naming the folder when it cannot be listed
     */
    public static List<Path> in(Path directory) {
        try (Stream<Path> s = Files.list(directory)) {
            return s.filter(p -> {
                String n = p.getFileName().toString();
                return !n.startsWith(".") && EXTENSIONS.contains(extension(n)) && Files.isRegularFile(p);
            }).sorted(Comparator.comparing(p -> p.getFileName().toString())).toList();
        } catch (IOException e) {
            throw new DfqException("image folder " + directory + " cannot be listed: " + e.getMessage(), e);
        }
    }

    /**
     * The first {@code limit} items (all when there are fewer): how every dataset takes its first N.
     *
     * @throws DfqException when limit is below 1
     */
    public static <T> List<T> first(List<T> items, int limit) {
        if (limit < 1) {
            throw new DfqException("image limit must be at least 1, got " + limit);
        }
        return items.subList(0, Math.min(limit, items.size()));
    }

    /** "bmp, jpeg, jpg, png", for messages. */
    public static String extensionList() {
        return String.join(", ", EXTENSIONS.stream().sorted().toList());
    }

    /** The lower-case extension of a file name, or "" when it has none. */
    public static String extension(String fileName) {
        int dot = fileName.lastIndexOf('.');
        return dot < 0 ? "" : fileName.substring(dot + 1).toLowerCase(Locale.ROOT);
    }
}
