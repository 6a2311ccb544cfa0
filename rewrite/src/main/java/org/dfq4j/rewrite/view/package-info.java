/** A read-only view of a SameDiff graph for matching: topological order, producers, consumers, constants. */
package org.dfq4j.rewrite.view;
