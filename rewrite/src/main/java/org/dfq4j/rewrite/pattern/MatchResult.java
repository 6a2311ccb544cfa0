package org.dfq4j.rewrite.pattern;

import java.util.Objects;

/**
 * The outcome of matching a pattern: a {@link Match}, or the reason there is none. A failure is
 * either "not a candidate" ({@link #noMatch}: the anchor is not the kind of op the pattern is
 * about) or a refusal ({@link #refused}: the pattern looked at this place and a condition failed,
 * e.g. "'conv_12' has 2 consumers"). Drivers log refusals so that users see where a rule did not
 * apply, and why (MLIR's notifyMatchFailure).
 */
public record MatchResult(Match match, String reason, boolean refused) {

    /**
     * @param match   the match, or null for a failure
     * @param reason  why there is no match (null for a match)
     * @param refused whether a failure is a refusal of a candidate
     */
    public MatchResult {
        if ((match == null) == (reason == null) || (match != null && refused)) {
            throw new IllegalArgumentException("a result is a match, or a failure with a reason");
        }
    }

    /** A successful match. */
    public static MatchResult of(Match match) {
        return new MatchResult(Objects.requireNonNull(match), null, false);
    }

    /** A match of the single op {@code op}. */
    public static MatchResult of(String op) {
        return of(Match.of(op));
    }

    /** Not a candidate, and why (e.g. "'conv1' is conv2d, not relu"). */
    public static MatchResult noMatch(String reason) {
        return new MatchResult(null, Objects.requireNonNull(reason), false);
    }

    /** A candidate the pattern refused, and why (e.g. "'conv1' has 2 consumers"). */
    public static MatchResult refused(String reason) {
        return new MatchResult(null, Objects.requireNonNull(reason), true);
    }

    /** Whether there is a match. */
    public boolean matched() {
        return match != null;
    }

    /** Whether this is a failure at a place the pattern was about (a candidate), not a mere non-candidate. */
    @Override
    public boolean refused() {
        return refused;
    }

    /** The same failure as a refusal (a non-candidate becomes a refused candidate); a match stays a match. */
    public MatchResult asRefusal() {
        return matched() || refused ? this : refused(reason);
    }

    /** The same failure as a non-candidate; a match stays a match. */
    public MatchResult asNoMatch() {
        return matched() || !refused ? this : noMatch(reason);
    }

    /** The match; throws if there is none. */
    @Override
    public Match match() {
        if (match == null) {
            throw new IllegalStateException("no match: " + reason);
        }
        return match;
    }

    /** Why there is no match; empty when there is one. */
    @Override
    public String reason() {
        return reason == null ? "" : reason;
    }

    @Override
    public String toString() {
        return matched() ? "matched " + match.ops() : (refused ? "refused: " : "no match: ") + reason;
    }
}
