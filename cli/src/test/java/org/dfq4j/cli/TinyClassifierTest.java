package org.dfq4j.cli;

import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.io.TempDir;

/**
 * What CLI test classes that run the tiny classifier share: a folder for the class, the model
 * ({@link TinyClassifier#write(Path)}) and a class file naming its two outputs n01 and n02. A
 * subclass adds its own photographs in a {@code @BeforeAll} of its own (run after this one).
 */
abstract class TinyClassifierTest {

    @TempDir
    static Path dir;
    static Path model;
    static Path classes;

    @BeforeAll
    static void tinyClassifier() throws Exception {
        model = TinyClassifier.write(dir.resolve("tiny.onnx"));
        classes = Files.writeString(dir.resolve("classes.txt"), "n01\nn02\n");
    }
}
