package org.dfq4j.cli;

import java.io.Serializable;

/** One cell of a table: row {@code row} (index into the table's rows) at one precision. */
public record TableCell(int row, Precision precision) implements Serializable {
}
