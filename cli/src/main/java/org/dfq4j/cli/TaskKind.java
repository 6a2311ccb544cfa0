package org.dfq4j.cli;

import java.util.Locale;
import org.dfq4j.eval.image.Preprocessing;

/** What a model does ({@code --task}). */
enum TaskKind {
    /** Top-1/top-5 on labelled photographs. */
    CLASSIFICATION,
    /** mIoU and pixel accuracy against masks. */
    SEGMENTATION,
    /** mAP against boxes. */
    DETECTION;

    /** The --preprocess default: inception for classification, resize otherwise. */
    Preprocessing defaultPreprocessing() {
        return this == CLASSIFICATION ? Preprocessing.INCEPTION : Preprocessing.RESIZE;
    }

    @Override
    public String toString() {
        return name().toLowerCase(Locale.ROOT);
    }
}
