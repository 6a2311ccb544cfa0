package org.dfq4j.cli;

import java.io.IOException;
import java.nio.file.FileVisitOption;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.nio.file.attribute.BasicFileAttributes;
import java.util.ArrayList;
import java.util.Collection;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.stream.Stream;
import org.dfq4j.rewrite.DfqException;
import org.dfq4j.rewrite.io.AtomicFile;

/**
 * The files a command will write, checked before it does any work, so that a run never ends by
 * failing to write its result or, worse, by replacing something it was given:
 *
 * <ul>
 *   <li>an output's folder exists and is writable, or can be created (no part of its path is a file);
 *   <li>an output is not the same file as any input (model, weight shards, labels, photographs,
 *       calibration photographs), compared with {@link Files#isSameFile} after following links, so a
 *       symbolic or hard link to an input is that input, even with {@code --force};
 *   <li>an existing file is replaced only when the user said so ({@code --force});
 *   <li>no two outputs name the same file.
 * </ul>
 *
 * Each failure is a {@link DfqException} naming the option, the path and what to do.
 */
final class OutputPlan {

    /** How deep below an input folder its files count as inputs (a Pascal VOC root holds them at depth 2). */
    private static final int INPUT_DEPTH = 4;

    private final boolean force;
    private final List<Path> inputs = new ArrayList<>();
    private final Map<Path, String> outputs = new LinkedHashMap<>();
    private Map<Object, Path> inputKeys;
    private List<Path> inputFiles;

    /** @param force whether existing files may be replaced */
    OutputPlan(boolean force) {
        this.force = force;
    }

    /** An input file, or a folder whose files (to a small depth) are inputs; null and missing paths are ignored. */
    OutputPlan input(Path path) {
        if (path != null) {
            inputs.add(path);
        }
        return this;
    }

    OutputPlan inputs(Collection<Path> paths) {
        paths.forEach(this::input);
        return this;
    }

    /** A file that option {@code option} writes; null (option not given) is ignored. */
    OutputPlan file(String option, Path target) {
        if (target == null) {
            return this;
        }
        Path resolved = AtomicFile.resolve(target, option + " " + target);
        String other = outputs.putIfAbsent(resolved, option + " " + target);
        if (other != null) {
            throw new DfqException(option + " " + target + " and " + other + " name the same file; give different paths");
        }
        return this;
    }

    /** Files {@code names} inside the folder {@code dir} that option {@code option} writes. */
    OutputPlan filesIn(String option, Path dir, Collection<String> names) {
        if (dir == null) {
            return this;
        }
        if (Files.exists(dir) && !Files.isDirectory(dir)) {
            throw new DfqException(option + " " + dir + " is a file, not a folder; give a folder for the images");
        }
        for (String n : names) {
            file(option, dir.resolve(n));
        }
        return this;
    }

    /**
     * Checks every output against the rules above.
     *
     * @throws DfqException naming the first output that breaks one
     */
    void check() {
        for (Map.Entry<Path, String> o : outputs.entrySet()) {
            Path file = o.getKey();
            String what = o.getValue();
            checkFolder(what, file.getParent());
            if (Files.exists(file)) {
                Path input = inputAt(file);
                if (input != null) {
                    throw new DfqException(what + " is " + (input.toAbsolutePath().normalize().equals(file) ? "" : "a link to ")
                            + "an input of this command, " + input + "; refusing to replace it: give another output path");
                }
                if (!force) {
                    throw new DfqException(what + " exists; pass --force to replace it, or give another path");
                }
                if (!Files.isRegularFile(file)) {
                    throw new DfqException(what + " exists and is not a regular file; give another path");
                }
            }
        }
    }

    /** The nearest existing ancestor must be a writable folder (missing folders below it are created). */
    private static void checkFolder(String what, Path folder) {
        Path p = folder;
        while (p != null && !Files.exists(p)) {
            p = p.getParent();
        }
        if (p == null) {
            throw new DfqException(what + ": no part of its folder " + folder + " exists");
        }
        if (!Files.isDirectory(p)) {
            throw new DfqException(what + ": its folder " + folder + " cannot be made, " + p + " is a file");
        }
        if (!Files.isWritable(p)) {
            throw new DfqException(what + ": folder " + p + " is not writable; give a writable folder");
        }
    }

    /** The input {@code file} is (the same file, through links or not), or null. */
    private Path inputAt(Path file) {
        if (inputKeys == null) {
            collectInputs();
        }
        try {
            Object key = Files.readAttributes(file, BasicFileAttributes.class).fileKey();
            if (key != null) {
                return inputKeys.get(key);
            }
            for (Path in : inputFiles) {
                if (Files.isSameFile(in, file)) {
                    return in;
                }
            }
            return null;
        } catch (IOException e) {
            throw new DfqException("cannot compare output " + file + " with the inputs: " + e.getMessage());
        }
    }

    private void collectInputs() {
        inputKeys = new HashMap<>();
        inputFiles = new ArrayList<>();
        for (Path in : inputs) {
            if (Files.isDirectory(in)) {
                try (Stream<Path> s = Files.walk(in, INPUT_DEPTH, FileVisitOption.FOLLOW_LINKS)) {
                    s.filter(Files::isRegularFile).forEach(this::addInput);
                } catch (IOException | RuntimeException e) {
                    throw new DfqException("cannot list input folder " + in + ": " + e.getMessage());
                }
            } else if (Files.exists(in, LinkOption.NOFOLLOW_LINKS)) {
                addInput(in);
            }
        }
    }

    private void addInput(Path f) {
        try {
            Object key = Files.readAttributes(f, BasicFileAttributes.class).fileKey();
            if (key != null) {
                inputKeys.putIfAbsent(key, f);
            }
            inputFiles.add(f);
        } catch (IOException ignored) {
            // an input that cannot be read is reported by the command reading it
        }
    }
}
