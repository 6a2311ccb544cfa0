package org.dfq4j.rewrite.engine;

import org.dfq4j.rewrite.pattern.Pattern;

/** A {@link JointRule} given its pattern and refusal wording at construction. */
public abstract class PatternJointRule extends RuleBase implements JointRule {

    /** See {@link RuleBase#RuleBase(Pattern, String)}. */
    protected PatternJointRule(Pattern pattern, String refusal) {
        super(pattern, refusal);
    }
}
