package org.dfq4j.rewrite;

import org.dfq4j.rewrite.engine.RewriteLog;
import org.dfq4j.rewrite.graph.Network;

/**
 * What a {@link Quantizer} made.
 *
 * @param floatNetwork the network after the float rewrites (the FP32 reference for this recipe)
 * @param network      the simulated 8-bit network: quantized weights and fake-quant ops (save this one)
 * @param executable   the network to run: {@code network} lowered for speed when asked, else {@code network}
 * @param ranges       the activation range source's name, e.g. "bn", "calib:32", "none"
 * @param execution    how activation quantization runs, e.g. "fake-quant ops" or "lowered 53 of 64 fake-quants ..."
 * @param log          every rewrite applied, in order (the provenance)
 * @param seconds      time spent rewriting (calibration runs included, loading images and lowering excluded)
 */
public record QuantizedNetwork(Network floatNetwork, Network network, Network executable, String ranges,
                               String execution, RewriteLog log, double seconds) {
}
