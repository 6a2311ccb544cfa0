package org.dfq4j.cli;

import java.util.Locale;

/** How 8-bit activation quantization runs ({@code --fake-quant}). */
enum FakeQuantMode {
    /** ND4J's fake-quant ops: the reference semantics. */
    OPS,
    /** Lowered: scales folded into the weights, a rounding by scalar ops per tensor (faster). */
    LOWERED;

    @Override
    public String toString() {
        return name().toLowerCase(Locale.ROOT);
    }
}
