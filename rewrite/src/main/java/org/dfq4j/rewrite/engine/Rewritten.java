package org.dfq4j.rewrite.engine;

import org.dfq4j.rewrite.graph.Network;

/** A rewritten copy of a network and the log of what was applied to it. */
public record Rewritten(Network network, RewriteLog log) {
}
