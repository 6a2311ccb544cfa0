package org.dfq4j.cli;

import org.dfq4j.zoo.ModelFiles;
import picocli.CommandLine.Option;

/** {@code --input-shape C,H,W}: the input of an ONNX model whose file leaves dims symbolic. */
final class InputShapeOption {

    @Option(names = "--input-shape", paramLabel = "C,H,W",
            description = "the model input's channels, height and width, for ONNX files that declare them symbolic "
                    + "(e.g. 3,224,224)")
    String inputShape;

    /** [C, H, W], or null when the option is absent. */
    long[] chw() {
        return inputShape == null ? null : ModelFiles.parseShape(inputShape);
    }
}
