package org.dfq4j.eval.report;

import java.io.PrintWriter;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;

/** A plain-text table with left-aligned columns sized to their content (no header row when all header cells are empty). */
public final class TextTable {
    private final List<String[]> rows = new ArrayList<>();
    private final String[] header;

    public TextTable(String... header) {
        this.header = header;
    }

    public TextTable row(Object... cells) {
        String[] r = new String[cells.length];
        for (int i = 0; i < cells.length; i++) {
            r[i] = String.valueOf(cells[i]);
        }
        rows.add(r);
        return this;
    }

    /** The rows added so far (without the header), cell by cell. */
    public List<List<String>> rows() {
        return rows.stream().map(List::of).toList();
    }

    public void print(PrintWriter out) {
        int cols = header.length;
        for (String[] r : rows) {
            cols = Math.max(cols, r.length);
        }
        int[] w = new int[cols];
        boolean hasHeader = Arrays.stream(header).anyMatch(h -> !h.isEmpty());
        List<String[]> all = new ArrayList<>();
        if (hasHeader) {
            all.add(header);
        }
        all.addAll(rows);
        for (String[] r : all) {
            for (int i = 0; i < r.length; i++) {
                w[i] = Math.max(w[i], r[i].length());
            }
        }
        for (int k = 0; k < all.size(); k++) {
            String[] r = all.get(k);
            StringBuilder sb = new StringBuilder();
            for (int i = 0; i < r.length; i++) {
                sb.append(i == r.length - 1 ? r[i] : String.format("%-" + w[i] + "s  ", r[i]));
            }
            out.println(sb.toString().stripTrailing());
            if (k == 0 && hasHeader) {
                StringBuilder line = new StringBuilder();
                for (int i = 0; i < cols; i++) {
                    line.append("-".repeat(w[i])).append(i == cols - 1 ? "" : "  ");
                }
                out.println(line);
            }
        }
    }
}
