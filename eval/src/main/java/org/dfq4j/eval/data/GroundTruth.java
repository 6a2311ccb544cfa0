package org.dfq4j.eval.data;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Collections;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import org.dfq4j.rewrite.DfqException;

/**
 * The class of each photograph of a flat validation folder, read from a ground-truth file in one of
 * two forms:
 *
 * <ul>
 *   <li>Kaggle's {@code LOC_val_solution.csv}: a header {@code ImageId,PredictionString}, then rows
 *       {@code ILSVRC2012_val_00008726,n02119789 255 142 454 329 ...}: the class is the first word of
 *       the prediction string (the synset of the first box);
 *   <li>a plain list, one photograph per line: {@code <file> <synset>} or {@code <file> <index>}
 *       (whitespace or a comma between), the file with or without its extension. An index is the
 *       0-based position of the class among the class file's classes, not counting a first line
 *       {@code background} (the order of Caffe's {@code val.txt}: sorted synsets).
 * </ul>
 *
 * Photographs are matched by file name without extension.
 */
public final class GroundTruth {

    /** What the second column holds. */
    public enum Form { LOC_SOLUTION_CSV, FILE_SYNSET, FILE_INDEX }

    private final Path source;
    private final Form form;
    private final Map<String, String> byStem;

    private GroundTruth(Path source, Form form, Map<String, String> byStem) {
        this.source = source;
        this.form = form;
        this.byStem = Collections.unmodifiableMap(byStem);
    }

    /**
     * Reads a ground-truth file.
     *
     * @throws DfqException naming the file and line when it is missing, empty or in neither form
     */
    public static GroundTruth read(Path file) {
        if (!Files.isRegularFile(file)) {
            throw new DfqException("ground-truth file " + file + " does not exist; give LOC_val_solution.csv or a list of"
                    + " '<file> <synset>' or '<file> <index>' lines");
        }
        List<String> lines;
        try {
            lines = Files.readAllLines(file, StandardCharsets.UTF_8);
        } catch (IOException e) {
            throw new DfqException("ground-truth file " + file + " cannot be read: " + e.getMessage(), e);
        }
        int first = 0;
        while (first < lines.size() && lines.get(first).isBlank()) {
            first++;
        }
        if (first == lines.size()) {
            throw new DfqException("ground-truth file " + file + " is empty");
        }
        boolean csv = lines.get(first).strip().replace(" ", "").equalsIgnoreCase("ImageId,PredictionString");
        Form form = csv ? Form.LOC_SOLUTION_CSV : null;
        Map<String, String> byStem = new HashMap<>();
        for (int i = csv ? first + 1 : first; i < lines.size(); i++) {
            String line = lines.get(i).strip();
            if (line.isEmpty()) {
                continue;
            }
            String[] f = line.split(csv ? "\\s*,\\s*|\\s+" : "[\\s,]+");
            if (f.length < 2 || !csv && f.length != 2) {
                throw new DfqException("ground-truth file " + file + " line " + (i + 1) + " '" + line + "' is not "
                        + (csv ? "'<ImageId>,<synset> <box> ...'" : "'<file> <synset>' or '<file> <index>'"));
            }
            if (!csv) {
                Form lineForm = f[1].chars().allMatch(Character::isDigit) ? Form.FILE_INDEX : Form.FILE_SYNSET;
                if (form != null && form != lineForm) {
                    throw new DfqException("ground-truth file " + file + " mixes class indexes and class ids (line "
                            + (i + 1) + " '" + line + "'); use one kind throughout");
                }
                form = lineForm;
            }
            String stem = stem(f[0]);
            String previous = byStem.put(stem, f[1]);
            if (previous != null && !previous.equals(f[1])) {
                throw new DfqException("ground-truth file " + file + " gives photograph " + stem + " two classes ("
                        + previous + " and " + f[1] + ", line " + (i + 1) + ")");
            }
        }
        if (byStem.isEmpty()) {
            throw new DfqException("ground-truth file " + file + " lists no photographs");
        }
        return new GroundTruth(file, form, byStem);
    }

    /** The file name without directories and extension. */
    static String stem(String fileName) {
        String name = Path.of(fileName).getFileName().toString();
        int dot = name.lastIndexOf('.');
        return dot <= 0 ? name : name.substring(0, dot);
    }

    public Path source() {
        return source;
    }

    public Form form() {
        return form;
    }

    public int size() {
        return byStem.size();
    }

    /**
     * The class id of a photograph: its synset, or for an index list the class at that position
     * among the class file's classes (a first line {@code background} not counted).
     *
     * @throws DfqException when an index lies outside the class file's classes
     */
    public Optional<String> classIdOf(String fileName, ClassList classes) {
        String v = byStem.get(stem(fileName));
        if (v == null || form != Form.FILE_INDEX) {
            return Optional.ofNullable(v);
        }
        int skip = classes.hasBackground() ? 1 : 0;
        long index = Long.parseLong(v);
        if (index + skip >= classes.size()) {
            throw new DfqException("ground-truth file " + source + " gives " + fileName + " class index " + index
                    + ", but " + classes.source() + " lists " + (classes.size() - skip) + " classes"
                    + (skip == 1 ? " after its background line" : "") + " (indexes are 0-based)");
        }
        return Optional.of(classes.id((int) index + skip));
    }

    /** e.g. "LOC_val_solution.csv (synset of the first box)" or "val.txt (0-based index ...)", for reports. */
    public String describe(ClassList classes) {
        return source + switch (form) {
            case LOC_SOLUTION_CSV -> " (LOC_val_solution.csv: synset of the first box)";
            case FILE_SYNSET -> " (file and class id per line)";
            case FILE_INDEX -> " (file and 0-based class index per line: index i = line " + (classes.hasBackground() ? "i+2" : "i+1")
                    + " of " + classes.source() + (classes.hasBackground() ? ", after its background line)" : ")");
        };
    }
}
