/**
 * The rewrite engine: {@link org.dfq4j.rewrite.engine.GraphEditor} (the only way to change a graph),
 * {@link org.dfq4j.rewrite.engine.Rule} and {@link org.dfq4j.rewrite.engine.Transform},
 * {@link org.dfq4j.rewrite.engine.RewriteDriver} (rules to a fixpoint), {@link org.dfq4j.rewrite.engine.Pipeline}
 * (transforms on a copy) and {@link org.dfq4j.rewrite.engine.RewriteLog} (what was applied).
 */
package org.dfq4j.rewrite.engine;
