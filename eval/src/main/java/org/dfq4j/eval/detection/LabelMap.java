package org.dfq4j.eval.detection;

import java.nio.file.Path;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.OptionalInt;
import org.dfq4j.eval.data.ClassList;
import org.dfq4j.rewrite.DfqException;

/**
 * Class names by class id: line i of a label file names class i (the model's score column i).
 * A line {@value #UNUSED} marks an id the model does not use (COCO's gaps, and the background
 * line 0 of the SSD label file). Names are whole lines, so they may contain spaces
 * ("traffic light"); look-ups by name ignore case.
 */
public final class LabelMap {

    /** The name of an unused class id. */
    public static final String UNUSED = "???";

    private final String source;
    private final List<String> names;
    private final Map<String, Integer> byName;

    private LabelMap(String source, List<String> names) {
        this.source = source;
        this.names = List.copyOf(names);
        this.byName = ClassList.indexOf(this.names, n -> n.equals(UNUSED) ? null : key(n),
                "label file " + source + " names", "each class must appear once");
    }

    /** Labels given in code; {@code source} names them in messages. */
    public static LabelMap of(String source, List<String> names) {
        if (names.isEmpty()) {
            throw new DfqException("label list " + source + " is empty");
        }
        return new LabelMap(source, names.stream().map(String::strip).toList());
    }

    /**
     * Reads a label file (UTF-8, one name per line; trailing blank lines ignored).
     *
     * @throws DfqException when the file is missing, empty, has a blank line inside, or names a
     *     class twice
     */
    public static LabelMap read(Path file) {
        List<String> names = ClassList.lines(file, "label file", "whose line i names class i",
                "write " + UNUSED + " for an unused class id");
        return new LabelMap(file.toString(), names);
    }

    private static String key(String name) {
        return name.toLowerCase(Locale.ROOT);
    }

    /** Where the labels came from, for messages. */
    public String source() {
        return source;
    }

    /** Number of class ids (lines), unused ones included. */
    public int size() {
        return names.size();
    }

    /** The name of class id i; "class i" beyond the file's end. */
    public String name(int id) {
        return id >= 0 && id < names.size() ? names.get(id) : "class " + id;
    }

    /** Whether id i names a class (is in the file and not {@value #UNUSED}). */
    public boolean isUsed(int id) {
        return id >= 0 && id < names.size() && !names.get(id).equals(UNUSED);
    }

    /** The class id of a name (any case), if the file names it. */
    public OptionalInt idOf(String name) {
        Integer i = byName.get(key(name.strip()));
        return i == null ? OptionalInt.empty() : OptionalInt.of(i);
    }

    public List<String> names() {
        return names;
    }

    @Override
    public String toString() {
        return "LabelMap[" + source + ", " + names.size() + " ids]";
    }
}
