/**
 * Rewrites for running, not for quantizing: they change how a network executes on the backend
 * and leave what it computes as it was, to float rounding. {@link org.dfq4j.rewrite.execution.ChannelsLast}
 * runs image tensors in the layout oneDNN computes in. Their results are execution copies: the DFQ
 * transforms work on the network they were made from.
 */
package org.dfq4j.rewrite.execution;
