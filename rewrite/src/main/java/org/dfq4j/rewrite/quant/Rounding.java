package org.dfq4j.rewrite.quant;

/** How weights are rounded to their integer levels. */
public enum Rounding {
    /** Each weight to its nearest level (ties up). */
    NEAREST,
    /** {@link DataFreeRounding}: kernel and output-channel rounding errors kept from adding up, no data. */
    DATAFREE
}
