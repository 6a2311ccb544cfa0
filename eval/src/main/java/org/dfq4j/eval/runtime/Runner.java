package org.dfq4j.eval.runtime;

import java.util.Map;
import org.dfq4j.rewrite.graph.Network;
import org.nd4j.linalg.api.ndarray.INDArray;

/**
 * Runs batches of images through a network on some runtime: ND4J/SameDiff ({@link #of(Network)}) or
 * ONNX Runtime ({@link OnnxRuntimeRunner}). The evaluators take a runner, so every dataset, metric
 * and report works the same on either.
 */
public interface Runner {

    /** The name reported with results. */
    String name();

    /** The input without the batch dimension: [C, H, W]. */
    long[] inputShape();

    /** Runs a batch [N, C, H, W] and returns every output by name, in the network's output order. */
    Map<String, INDArray> run(INDArray batch);

    /** The first output of a batch. */
    default INDArray output(INDArray batch) {
        return run(batch).values().iterator().next();
    }

    /** String properties recorded with the network (e.g. an SSD's post-processing options). */
    Map<String, String> properties();

    /** Tensors recorded with the network (e.g. an SSD's anchors). */
    Map<String, INDArray> attachments();

    /** The same runner reported under another name. */
    default Runner named(String newName) {
        Runner self = this;
        return new Runner() {
            @Override
            public String name() {
                return newName;
            }

            @Override
            public long[] inputShape() {
                return self.inputShape();
            }

            @Override
            public Map<String, INDArray> run(INDArray batch) {
                return self.run(batch);
            }

            @Override
            public Map<String, String> properties() {
                return self.properties();
            }

            @Override
            public Map<String, INDArray> attachments() {
                return self.attachments();
            }
        };
    }

    /** A network run by ND4J/SameDiff. */
    static Runner of(Network net) {
        return new Runner() {
            @Override
            public String name() {
                return net.name();
            }

            @Override
            public long[] inputShape() {
                return net.inputShape();
            }

            @Override
            public Map<String, INDArray> run(INDArray batch) {
                return net.run(batch);
            }

            @Override
            public Map<String, String> properties() {
                return net.properties();
            }

            @Override
            public Map<String, INDArray> attachments() {
                return net.attachments();
            }
        };
    }
}
