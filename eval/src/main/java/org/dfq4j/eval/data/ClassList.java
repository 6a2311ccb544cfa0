package org.dfq4j.eval.data;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Collections;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.function.UnaryOperator;
import java.util.OptionalInt;
import org.dfq4j.rewrite.DfqException;

/**
 * The class id (e.g. an ImageNet synset) of each model output: line i of a class file is the id of
 * output i, so any class order works. Only the first whitespace-separated word of a line counts
 * ({@code n01440764 tench, Tinca tinca} gives {@code n01440764}); blank lines at the end are ignored.
 */
public final class ClassList {

    /** The id of the extra first class of 1001-output ImageNet models. */
    public static final String BACKGROUND = "background";

    private final String source;
    private final List<String> ids;
    private final Map<String, Integer> index;

    private ClassList(String source, List<String> ids) {
        this.source = source;
        this.ids = List.copyOf(ids);
        this.index = indexOf(this.ids, id -> id, "class file " + source + " lists", "each class id must appear once");
    }

    /** Classes given in code; {@code source} names them in messages. */
    public static ClassList of(String source, List<String> ids) {
        if (ids.isEmpty()) {
            throw new DfqException("class list " + source + " is empty");
        }
        return new ClassList(source, ids);
    }

    /**
     * Reads a class file.
     *
     * @throws DfqException when the file is missing, unreadable, empty, has a blank line before its
     *     last class, or lists a class twice
     */
    public static ClassList read(Path file) {
        List<String> ids = new ArrayList<>();
        for (String line : lines(file, "class file", "whose line i is the class id of output i",
                "line i must be the class id of output i")) {
            ids.add(line.split("\\s+", 2)[0]);
        }
        return new ClassList(file.toString(), ids);
    }

    /**
     * The lines of a one-entry-per-line file (class ids, label names), stripped, trailing blank
     * lines dropped: how every such file is read.
     *
     * @param what            "class file", "label file"
     * @param give            what a good file is, e.g. "whose line i names class i"
     * @param emptyLineAdvice what to do about an empty line inside
     * @throws DfqException naming the file when it is missing, unreadable, empty or has an empty line
     */
    public static List<String> lines(Path file, String what, String give, String emptyLineAdvice) {
        if (!Files.isRegularFile(file)) {
            throw new DfqException(what + " " + file + " does not exist; give a file " + give);
        }
        List<String> lines;
        try {
            lines = Files.readAllLines(file, StandardCharsets.UTF_8);
        } catch (IOException e) {
            throw new DfqException(what + " " + file + " cannot be read: " + e.getMessage(), e);
        }
        int end = lines.size();
        while (end > 0 && lines.get(end - 1).isBlank()) {
            end--;
        }
        if (end == 0) {
            throw new DfqException(what + " " + file + " is empty; give a file " + give);
        }
        List<String> out = new ArrayList<>(end);
        for (int i = 0; i < end; i++) {
            String line = lines.get(i).strip();
            if (line.isEmpty()) {
                throw new DfqException(what + " " + file + " has an empty line " + (i + 1) + "; " + emptyLineAdvice);
            }
            out.add(line);
        }
        return out;
    }

    /**
     * The line (0-based) of each entry by {@code key}, entries mapped to null skipped; an entry that
     * appears twice is an error naming both lines ({@code what} 'entry' twice (lines a and b); {@code rule}).
     */
    public static Map<String, Integer> indexOf(List<String> entries, UnaryOperator<String> key, String what,
                                               String rule) {
        Map<String, Integer> m = new HashMap<>();
        for (int i = 0; i < entries.size(); i++) {
            String k = key.apply(entries.get(i));
            Integer previous = k == null ? null : m.put(k, i);
            if (previous != null) {
                throw new DfqException(what + " '" + entries.get(i) + "' twice (lines " + (previous + 1) + " and "
                        + (i + 1) + "); " + rule);
            }
        }
        return Collections.unmodifiableMap(m);
    }

    /** Where the classes came from (a file name), for messages and reports. */
    public String source() {
        return source;
    }

    public int size() {
        return ids.size();
    }

    /** The class id of output i. */
    public String id(int output) {
        return ids.get(output);
    }

    public List<String> ids() {
        return ids;
    }

    /** Whether line 1 is the class {@code background} (TensorFlow's 1001-class ImageNet files). */
    public boolean hasBackground() {
        return !ids.isEmpty() && ids.get(0).equalsIgnoreCase(BACKGROUND);
    }

    /** The output index of a class id, if listed. */
    public OptionalInt indexOf(String id) {
        Integer i = index.get(id);
        return i == null ? OptionalInt.empty() : OptionalInt.of(i);
    }

    @Override
    public String toString() {
        return "ClassList[" + source + ", " + ids.size() + " classes]";
    }
}
