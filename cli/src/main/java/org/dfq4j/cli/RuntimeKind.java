package org.dfq4j.cli;

import java.util.Locale;

/** What runs a network ({@code --runtime} of eval and bench). */
enum RuntimeKind {
    /** dfq4j's reader and pipeline on ND4J/SameDiff. */
    ND4J,
    /** ONNX Runtime, on an ONNX file as it is (eval) or on dfq4j's exports beside ND4J (bench). */
    ONNXRUNTIME;

    @Override
    public String toString() {
        return name().toLowerCase(Locale.ROOT);
    }
}
