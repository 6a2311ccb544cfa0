package org.dfq4j.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import java.util.List;
import org.dfq4j.rewrite.DfqRecipe;
import org.junit.jupiter.api.Test;

/** The cells a distributed table is split into: every row's precisions, then its extra bit widths. */
class TableCellsTest {

    private static final List<DfqTable.Row> ROWS = DfqTable.rows(DfqRecipe.builder().build(), false,
            DfqRecipe.Correction.NONE);

    @Test
    void extraBitWidthsAreCellsOfTheirOwnAfterEachRowsPrecisions() {
        List<TableCell> cells = DfqTable.cells(ROWS, true, DfqTable.Bits.parse("6/8,4/8"));
        // without BatchNorm statistics "+absorption" (row 3) cannot run: it has no cells
        long running = ROWS.stream().filter(r -> r.recipe() != null).count();
        assertEquals(7, running);
        assertEquals(running * 5, cells.size());
        assertEquals(new TableCell(0, Precision.FP32), cells.get(0), "the reference first");
        assertEquals(List.of("FP32", "W8", "W8A8", "W6A8", "W4A8"),
                cells.subList(0, 5).stream().map(TableCell::column).toList());
        assertEquals(new TableCell(0, null, "6/8"), cells.get(3));
        assertEquals(new DfqTable.Bits(4, 8), cells.get(4).extraBits());
        assertEquals(List.of(0, 1, 2, 4, 5, 6, 7), cells.stream().map(TableCell::row).distinct().toList());
    }

    @Test
    void withoutBitsTheCellsAreTheStandardColumns() {
        List<TableCell> cells = DfqTable.cells(ROWS, false, List.of());
        assertEquals(7 * 2, cells.size());
        assertEquals(List.of("FP32", "W8"), cells.subList(0, 2).stream().map(TableCell::column).toList());
        assertEquals(null, cells.get(1).bits());
    }

    @Test
    void aBitWidthGivenTwiceIsOneCell() {
        // run() evaluates it twice into one "bits" entry; on a cluster its shards must not be counted twice
        List<TableCell> cells = DfqTable.cells(ROWS.subList(0, 1), true, DfqTable.Bits.parse("6/8, 6/8"));
        assertEquals(List.of("FP32", "W8", "W8A8", "W6A8"), cells.stream().map(TableCell::column).toList());
    }

    @Test
    void aCellHasAPrecisionOrExtraBits() {
        assertThrows(IllegalArgumentException.class, () -> new TableCell(0, Precision.W8, "6/8"));
        assertThrows(IllegalArgumentException.class, () -> new TableCell(0, null, null));
    }
}
