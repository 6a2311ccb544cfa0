package org.dfq4j.eval.data;

import org.dfq4j.rewrite.DfqException;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;
import org.nd4j.linalg.indexing.NDArrayIndex;

/**
 * How a class file's lines line up with a classifier's outputs, worked out from the two counts and
 * never guessed silently (the description says which case applied):
 *
 * <ul>
 *   <li>as many outputs as classes: class i is output i;
 *   <li>one output more (a TensorFlow 1001-output ImageNet model with a 1000-line class file): output 0
 *       is the background class, which no photograph has; class i is output i + 1;
 *   <li>one output fewer, and the class file's first line is {@code background} (a 1000-output
 *       PyTorch model with a 1001-line TensorFlow class file): class i is output i - 1, and the
 *       background class has no output.
 * </ul>
 *
 * @param offset output index minus class index
 */
public record LabelAlignment(int offset, int classes, long outputs, String description) {

    /**
     * The alignment of a class list with a model's output count.
     *
     * @throws DfqException when the counts fit none of the cases
     */
    public static LabelAlignment of(ClassList classes, long outputs, String model) {
        int k = classes.size();
        if (outputs == k) {
            return new LabelAlignment(0, k, outputs, "class i of " + classes.source() + " = output i (" + k + " classes, "
                    + outputs + " outputs)");
        }
        if (outputs == k + 1L && !classes.hasBackground()) {
            return new LabelAlignment(1, k, outputs, "the model has " + outputs + " outputs and "
                    + classes.source() + " lists " + k + " classes: output 0 is background (never a label), class i = output i+1");
        }
        if (outputs == k - 1L && classes.hasBackground()) {
            return new LabelAlignment(-1, k, outputs, "the model has " + outputs + " outputs and "
                    + classes.source() + " lists " + k + " classes beginning with background: the background class has no"
                    + " output, class i = output i-1");
        }
        throw new DfqException("model '" + model + "' has " + outputs + " outputs but class file " + classes.source()
                + " lists " + k + " classes" + (classes.hasBackground() ? " (the first is background)" : "")
                + "; give the class file of this model (line i = class of output i)");
    }

    /** Scores [N, outputs] as scores [N, classes] in class-file order (background without an output: -infinity). */
    public INDArray classScores(INDArray logits) {
        if (offset == 0) {
            return logits;
        }
        if (offset > 0) {
            return logits.get(NDArrayIndex.all(), NDArrayIndex.interval(offset, outputs)).dup('c');
        }
        INDArray background = Nd4j.valueArrayOf(new long[] {logits.size(0), -offset}, Float.NEGATIVE_INFINITY)
                .castTo(logits.dataType());
        return Nd4j.concat(1, background, logits);
    }
}
