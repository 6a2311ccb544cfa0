package org.dfq4j.eval.detection;

/**
 * What turns the model's class outputs into the scores TFLite_Detection_PostProcess compares.
 * The op itself applies nothing: in the SSD COCO model a LOGISTIC op before it already maps the
 * logits to (0,1). An importer that stops at the logits needs {@link #SIGMOID}.
 */
public enum ScoreConversion {
    /** The outputs are already scores. */
    NONE,
    /** The outputs are logits: score = 1 / (1 + exp(-x)). */
    SIGMOID,
    /**
     * Decided per batch from the values: logits when any value lies outside [0, 1] (sigmoid
     * outputs never do; the COCO SSD's 1917 x 91 logits always include negative ones).
     */
    AUTO;

    /** The conversion to apply to these outputs: NONE or SIGMOID. */
    public ScoreConversion resolve(float[] outputs) {
        if (this != AUTO) {
            return this;
        }
        for (float v : outputs) {
            if (v < 0f || v > 1f) {
                return SIGMOID;
            }
        }
        return NONE;
    }
}
