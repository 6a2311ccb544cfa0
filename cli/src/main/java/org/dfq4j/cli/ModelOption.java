package org.dfq4j.cli;

import org.dfq4j.rewrite.graph.Network;
import org.dfq4j.zoo.ModelFiles;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

/** {@code --model}: the model file every command but {@code demo} reads. */
final class ModelOption {
    /** What --model names (also for the commands whose --model is optional: info, bench). */
    static final String DESCRIPTION = "model file (.tflite, .onnx, TF.js model.json, .dfq) or " + ModelFiles.BUILTIN_MOBILENET;

    @Option(names = "--model", required = true, paramLabel = "PATH", description = DESCRIPTION)
    String path;

    @Mixin
    InputShapeOption shape;

    /** The model, read (with its input fixed by --input-shape when given). */
    Network read() {
        return ModelFiles.read(path, shape.chw());
    }
}
