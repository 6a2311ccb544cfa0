package org.dfq4j.cli;

import java.io.Serializable;

/**
 * One cell of a table: row {@code row} (index into the table's rows) at one precision, or at one extra
 * bit width ({@code --bits}).
 *
 * @param precision FP32, W8 or W8A8; null for an extra bit width
 * @param bits      an extra bit width as weight bits / activation bits, e.g. "6/8"; null for a precision
 */
public record TableCell(int row, Precision precision, String bits) implements Serializable {

    public TableCell {
        if ((precision == null) == (bits == null)) {
            throw new IllegalArgumentException("a table cell has a precision or extra bits, not both or neither: "
                    + precision + ", " + bits);
        }
    }

    /** Row {@code row} at {@code precision} (a standard column). */
    public TableCell(int row, Precision precision) {
        this(row, precision, null);
    }

    /** Row {@code row} at the extra bit width {@code bits}, e.g. "6/8". */
    static TableCell extra(int row, DfqTable.Bits bits) {
        return new TableCell(row, null, bits.weights() + "/" + bits.activations());
    }

    /** The extra bit width of this cell, or null for a standard column. */
    DfqTable.Bits extraBits() {
        return bits == null ? null : DfqTable.Bits.parse(bits).get(0);
    }

    /** The cell's column: "FP32", "W8", "W8A8", or an extra bit width's label, e.g. "W6A8". */
    public String column() {
        return bits == null ? precision.toString() : extraBits().label();
    }
}
