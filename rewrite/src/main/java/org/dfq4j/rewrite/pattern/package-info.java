/**
 * Immutable graph patterns composed from static combinators ({@link org.dfq4j.rewrite.pattern.Patterns});
 * a match is a small value, and a failed match says why.
 */
package org.dfq4j.rewrite.pattern;
