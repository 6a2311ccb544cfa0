package org.dfq4j.cli;

/** The precisions a table row is evaluated in: float, 8-bit weights, 8-bit weights and activations. */
public enum Precision {
    FP32, W8, W8A8
}
