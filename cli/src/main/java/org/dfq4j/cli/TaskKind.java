package org.dfq4j.cli;

import java.util.Locale;

/** What a model does ({@code --task}). */
enum TaskKind {
    /** Top-1/top-5 on labelled photographs. */
    CLASSIFICATION,
    /** mIoU and pixel accuracy against masks. */
    SEGMENTATION,
    /** mAP against boxes. */
    DETECTION;

    @Override
    public String toString() {
        return name().toLowerCase(Locale.ROOT);
    }
}
