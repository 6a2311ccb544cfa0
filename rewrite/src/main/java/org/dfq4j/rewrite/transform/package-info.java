/**
 * The DFQ graph rewrites of METHOD.md sections 1-4: BatchNorm folding, ReLU6 replacement, dead-channel
 * elimination, cross-layer equalization and high-bias absorption, with the per-channel weight
 * arithmetic they share.
 */
package org.dfq4j.rewrite.transform;
