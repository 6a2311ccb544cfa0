package org.dfq4j.rewrite.pattern;

import java.util.Objects;

/** The outcome of matching a pattern at an op: a {@link Match}, or the reason there is none. */
public final class MatchResult {

    private final Match match;
    private final String reason;

    private MatchResult(Match match, String reason) {
        this.match = match;
        this.reason = reason;
    }

    public static MatchResult of(Match match) {
        return new MatchResult(Objects.requireNonNull(match), null);
    }

    public static MatchResult of(String op) {
        return of(Match.of(op));
    }

    /** No match, and why (e.g. "'conv1' output has 2 consumers"). */
    public static MatchResult noMatch(String reason) {
        return new MatchResult(null, Objects.requireNonNull(reason));
    }

    public boolean matched() {
        return match != null;
    }

    /** The match; throws if there is none. */
    public Match match() {
        if (match == null) {
            throw new IllegalStateException("no match: " + reason);
        }
        return match;
    }

    /** Why there is no match; empty when there is one. */
    public String reason() {
        return reason == null ? "" : reason;
    }

    @Override
    public String toString() {
        return matched() ? "matched " + match.ops() : "no match: " + reason;
    }
}
