package org.dfq4j.rewrite.engine;

import org.dfq4j.rewrite.pattern.Pattern;

/** A {@link Rule} given its pattern and refusal wording at construction. */
public abstract class PatternRule extends RuleBase implements Rule {

    /** See {@link RuleBase#RuleBase(Pattern, String)}. */
    protected PatternRule(Pattern pattern, String refusal) {
        super(pattern, refusal);
    }
}
