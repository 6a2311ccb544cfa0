package org.dfq4j.bench;

import org.dfq4j.rewrite.execution.ChannelsLast;
import org.dfq4j.rewrite.graph.Network;
import org.dfq4j.rewrite.graph.SliceWorkers;

/**
 * How the benchmarked networks run: the execution settings, each of which leaves what a network
 * computes as it is (to float rounding) and can be turned off to see what it gains. (Whether the
 * 8-bit network's fake-quants are lowered is the quantizer's setting.)
 *
 * @param channelsLast image tensors channels-last ({@link ChannelsLast}), else as imported (NCHW)
 * @param planned      passes from prepared plans, else through SameDiff's session for every op
 * @param slice        images per pass (0: the whole batch at once)
 * @param workers      threads that run slices side by side with single-threaded kernels
 *                     ({@link Network#setSliceWorkers}), or null: slices one after another, each
 *                     kernel on every thread
 */
public record Execution(boolean channelsLast, boolean planned, int slice, SliceWorkers workers) {

    /** Everything on, whole batches, slices (if any) in turn. */
    public static final Execution DEFAULT = new Execution(true, true, 0, null);

    /** Applies the settings that are not rewrites (plans, slices, workers) to a network about to be timed. */
    Network configure(Network net) {
        net.setPlanned(planned);
        net.setSliceImages(slice);
        net.setSliceWorkers(workers);
        return net;
    }

    /** One line for reports. */
    String describe() {
        return (planned ? "planned passes" : "SameDiff session passes")
                + (slice > 0 ? " in slices of " + slice + (slice == 1 ? " image" : " images") : "")
                + (slice > 0 && workers != null ? ", " + workers.threads()
                + " side by side (one thread each; a batch of one slice: every thread on its kernels)" : "");
    }
}
