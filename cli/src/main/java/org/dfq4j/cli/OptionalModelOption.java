package org.dfq4j.cli;

import org.dfq4j.rewrite.graph.Network;
import org.dfq4j.zoo.ModelFiles;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

/** {@code --model} and {@code --input-shape} for the commands that can also run without a model (info, bench). */
final class OptionalModelOption {

    @Option(names = "--model", paramLabel = "PATH", description = ModelOption.DESCRIPTION)
    String path;

    @Mixin
    InputShapeOption shape;

    /** The model, read (with its input fixed by --input-shape when given); the caller checks path first. */
    Network read() {
        return ModelFiles.read(path, shape.chw());
    }
}
