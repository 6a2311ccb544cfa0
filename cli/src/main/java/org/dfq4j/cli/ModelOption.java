package org.dfq4j.cli;

import org.dfq4j.rewrite.graph.Network;
import org.dfq4j.zoo.ModelFiles;
import picocli.CommandLine.Option;

/** {@code --model}: the model file every command but {@code demo} reads. */
final class ModelOption {

    @Option(names = "--model", required = true, paramLabel = "PATH",
            description = "model file (.tflite, .onnx, TF.js model.json, .dfq) or " + ModelFiles.BUILTIN_MOBILENET)
    String path;

    /** The model, read. */
    Network read() {
        return ModelFiles.read(path);
    }
}
