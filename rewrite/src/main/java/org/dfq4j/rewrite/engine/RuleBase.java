package org.dfq4j.rewrite.engine;

import java.util.Objects;
import org.dfq4j.rewrite.pattern.Pattern;

/**
 * What every rule declares, given at construction: its pattern and how the log names a place the
 * pattern refused. {@link PatternRule} and {@link PatternJointRule} build on it, so that a rule class
 * holds only its identity, pattern constant and rewrite (as MLIR's OpRewritePattern does).
 */
public abstract class RuleBase {

    private final Pattern pattern;
    private final String refusal;

    /**
     * @param pattern where the rule applies
     * @param refusal how the log names a refused place, e.g. "not folded"
     */
    protected RuleBase(Pattern pattern, String refusal) {
        this.pattern = Objects.requireNonNull(pattern);
        this.refusal = Objects.requireNonNull(refusal);
    }

    /** Where the rule applies. */
    public final Pattern pattern() {
        return pattern;
    }

    /** How the log names a place the pattern looked at and refused. */
    public final String refusal() {
        return refusal;
    }
}
