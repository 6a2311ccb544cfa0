package org.dfq4j.rewrite.engine;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.dfq4j.rewrite.graph.Network;
import org.dfq4j.rewrite.pattern.Match;
import org.dfq4j.rewrite.pattern.MatchResult;
import org.dfq4j.rewrite.view.GraphView;

/**
 * Runs rules, in one of two ways:
 *
 * <ul>
 *   <li>{@link Rule}s to a fixpoint ({@link #of}): each round scans the ops in topological order
 *       and, at each op, the rules in the given order; the first match is rewritten and the scan
 *       starts again on the changed graph (so overlapping matches resolve to the earliest op, then
 *       the earliest rule). It stops when a full scan finds no match, and fails after
 *       {@code maxRewrites} rewrites (a rule that never reaches a fixpoint is a bug) or when a rule
 *       matched but changed nothing. It ends each rule's part of the log with one entry, the
 *       rule's {@link Rule#summary} of its rewrites (by default their count).
 *   <li>a {@link JointRule} once ({@link #once}): one scan collects every match, which the rule
 *       rewrites in one call.
 * </ul>
 *
 * Either way the places a pattern looked at and refused (in the last scan) are logged with the
 * reason, before the count or the joint rule's own entries; every rewrite must leave the constants
 * and statistics it produced finite, and the graph is checked for well-formedness afterwards. As a
 * {@link Transform} the driver edits the editor's graph; {@link #run} works on a copy and returns it
 * with the log.
 */
public final class RewriteDriver implements Transform {

    public static final int DEFAULT_MAX_REWRITES = 10_000;

    private final List<Rule> rules;
    private final JointRule joint;
    private final int maxRewrites;

    public RewriteDriver(List<? extends Rule> rules) {
        this(rules, DEFAULT_MAX_REWRITES);
    }

    public RewriteDriver(List<? extends Rule> rules, int maxRewrites) {
        if (rules.isEmpty() || maxRewrites < 1) {
            throw new IllegalArgumentException("need at least one rule and maxRewrites >= 1");
        }
        this.rules = List.copyOf(rules);
        this.joint = null;
        this.maxRewrites = maxRewrites;
    }

    private RewriteDriver(JointRule joint) {
        this.rules = List.of();
        this.joint = joint;
        this.maxRewrites = 1;
    }

    /** The rules, run to a fixpoint. */
    public static RewriteDriver of(Rule... rules) {
        return new RewriteDriver(List.of(rules));
    }

    /** A joint rule, run once on all its matches. */
    public static RewriteDriver once(JointRule rule) {
        return new RewriteDriver(rule);
    }

    /** The fixpoint rules (empty for a joint rule's driver). */
    public List<Rule> rules() {
        return rules;
    }

    @Override
    public String name() {
        return joint != null ? joint.name() : "Rules" + rules.stream().map(Rule::name).toList();
    }

    /** Rewrites a copy of {@code network}; the argument is left unchanged. */
    public Rewritten run(Network network) {
        network.requireNchw(toString());
        GraphEditor editor = new GraphEditor(network);
        RewriteLog log = new RewriteLog();
        apply(editor, log);
        return new Rewritten(editor.network(), log);
    }

    /** Rewrites in place, logs refusals and counts, then checks the graph. */
    @Override
    public void apply(GraphEditor editor, RewriteLog log) {
        if (joint != null) {
            applyJoint(editor, log);
        } else {
            applyToFixpoint(editor, log);
        }
        WellFormedness.require(editor.view(), name());
    }

    private void applyJoint(GraphEditor editor, RewriteLog log) {
        GraphView g = editor.view();
        List<Match> matches = new ArrayList<>();
        Map<String, String> refusals = new LinkedHashMap<>();
        for (String op : g.ops()) {
            MatchResult r = joint.pattern().match(g, op);
            if (r.matched()) {
                matches.add(r.match());
            } else if (r.refused()) {
                refusals.put(g.describe(op), r.reason());
            }
        }
        logRefusals(log, joint.name(), joint.refusal(), refusals);
        int before = editor.changeCount();
        joint.rewrite(new Matches(g, matches, refusals), editor, log);
        editor.requireFinite(before, joint.name());
    }

    private void applyToFixpoint(GraphEditor editor, RewriteLog log) {
        Map<Rule, List<RewriteLog.Entry>> logged = new LinkedHashMap<>();
        rules.forEach(r -> logged.put(r, new ArrayList<>()));
        Map<Rule, Integer> counts = new LinkedHashMap<>();
        rules.forEach(r -> counts.put(r, 0));
        int applied = 0;
        Map<Rule, Map<String, String>> refusals;
        while (true) {
            GraphView g = editor.view();
            refusals = new LinkedHashMap<>();
            Found f = firstMatch(g, refusals);
            if (f == null) {
                break;
            }
            if (applied == maxRewrites) {
                throw new IllegalStateException("no fixpoint after " + maxRewrites + " rewrites: " + f.rule.name()
                        + " still matches at '" + f.op + "'");
            }
            int before = editor.changeCount();
            int entries = log.size();
            f.rule.rewrite(f.result.match(), editor, log);
            logged.get(f.rule).addAll(log.entries().subList(entries, log.size()));
            if (editor.changeCount() == before) {
                throw new IllegalStateException(f.rule.name() + " matched at '" + f.op + "' but changed nothing");
            }
            editor.requireFinite(before, f.rule.name() + " at '" + f.op + "'");
            applied++;
            counts.merge(f.rule, 1, Integer::sum);
        }
        for (Rule r : rules) {
            logRefusals(log, r.name(), r.refusal(), refusals.getOrDefault(r, Map.of()));
        }
        counts.forEach((rule, n) -> log.add(rule.name(), rule.summary(n, logged.get(rule)), List.of(),
                RewriteLog.values("count", n)));
    }

    /**
     * The first match in topological order, then rule order. Refusals are collected only by a scan
     * that finds no match (the last one), which visits every op.
     */
    private Found firstMatch(GraphView g, Map<Rule, Map<String, String>> refusals) {
        for (String op : g.ops()) {
            for (Rule r : rules) {
                MatchResult m = r.pattern().match(g, op);
                if (m.matched()) {
                    return new Found(r, op, m);
                }
                if (m.refused()) {
                    refusals.computeIfAbsent(r, k -> new LinkedHashMap<>()).put(g.describe(op), m.reason());
                }
            }
        }
        return null;
    }

    private static void logRefusals(RewriteLog log, String rule, String refusal, Map<String, String> refusals) {
        refusals.forEach((place, why) -> log.add(rule, refusal + ": " + why, List.of(place)));
    }

    private record Found(Rule rule, String op, MatchResult result) {
    }
}
