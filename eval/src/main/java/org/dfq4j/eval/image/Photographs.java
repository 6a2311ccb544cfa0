package org.dfq4j.eval.image;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
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

    /**
     * The files among {@code files} that {@link RgbDecoder} cannot decode (damaged, truncated, not an
     * image), each with the reason, in the order given; every file is decoded once, on up to
     * {@code threads} threads.
     */
    public static Map<Path, String> undecodable(List<Path> files, int threads) {
        ExecutorService pool = Executors.newFixedThreadPool(Math.max(1, threads), r -> {
            Thread t = new Thread(r, "dfq-check-photographs");
            t.setDaemon(true);
            return t;
        });
        try {
            List<Future<String>> checks = new ArrayList<>();
            for (Path f : files) {
                checks.add(pool.submit(() -> {
                    try {
                        RgbDecoder.read(f);
                        return null;
                    } catch (DfqException e) {
                        return e.getMessage();
                    }
                }));
            }
            Map<Path, String> bad = new LinkedHashMap<>();
            for (int i = 0; i < files.size(); i++) {
                String why = checks.get(i).get();
                if (why != null) {
                    bad.put(files.get(i), why);
                }
            }
            return bad;
        } catch (ExecutionException e) {
            throw new DfqException("checking photographs failed: " + e.getCause(), e.getCause());
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new DfqException("interrupted while checking photographs", e);
        } finally {
            pool.shutdownNow();
        }
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
