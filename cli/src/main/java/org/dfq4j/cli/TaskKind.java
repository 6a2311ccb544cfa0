package org.dfq4j.cli;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Locale;
import org.dfq4j.eval.image.Preprocessing;
import org.dfq4j.zoo.onnx.OnnxReader;

/** What a model does ({@code --task}). */
enum TaskKind {
    /** Top-1/top-5 on labelled photographs. */
    CLASSIFICATION,
    /** mIoU and pixel accuracy against masks. */
    SEGMENTATION,
    /** mAP against boxes. */
    DETECTION;

    /** A default preprocessing and, for reports, why it is the default. */
    record Default(Preprocessing preprocessing, String why) {
    }

    /**
     * The --preprocess default for {@code model}: what an ONNX file exported by dfq4j recorded (the
     * preprocessing its network was exported with: a TFLite MobileNetV2 stays inception); otherwise for
     * classification torchvision for other .onnx models (PyTorch's) and inception for the rest; resize
     * (deeplab) for segmentation and detection.
     */
    Default defaultPreprocessing(String model) {
        boolean onnx = model.toLowerCase(Locale.ROOT).endsWith(".onnx");
        String recorded = onnx && Files.isRegularFile(Path.of(model))
                ? OnnxReader.exportedProperties(Path.of(model)).get(PREPROCESS_PROPERTY) : null;
        if (recorded != null) {
            return new Default(Preprocessing.parse(recorded), "as recorded by dfq export in the file");
        }
        if (this != CLASSIFICATION) {
            return new Default(Preprocessing.RESIZE, "the default");
        }
        return onnx ? new Default(Preprocessing.TORCHVISION, "the default for ONNX models")
                : new Default(Preprocessing.INCEPTION, "the default");
    }

    /** The network property in which dfq export records the preprocessing the exported network expects. */
    static final String PREPROCESS_PROPERTY = "preprocess";

    @Override
    public String toString() {
        return name().toLowerCase(Locale.ROOT);
    }
}
