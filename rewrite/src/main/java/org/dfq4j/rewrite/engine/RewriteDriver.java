package org.dfq4j.rewrite.engine;

import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.dfq4j.rewrite.graph.Network;
import org.dfq4j.rewrite.pattern.MatchResult;
import org.dfq4j.rewrite.view.GraphView;

/**
 * Applies rules to a fixpoint. Each round scans the ops in topological order and, at each op, the
 * rules in the given order; the first match is rewritten and the scan starts again on the changed
 * graph (so overlapping matches resolve to the earliest op, then the earliest rule). It stops when
 * a full scan finds no match, or fails after {@code maxRewrites} rewrites (a rule that never
 * reaches a fixpoint is a bug). Every rewrite must leave the constants and statistics it produced
 * finite. As a {@link Transform} it edits in place; {@link #run} works on a copy and checks the
 * result is well-formed.
 */
public final class RewriteDriver implements Transform {

    public static final int DEFAULT_MAX_REWRITES = 10_000;

    private final List<Rule> rules;
    private final int maxRewrites;

    public RewriteDriver(List<? extends Rule> rules) {
        this(rules, DEFAULT_MAX_REWRITES);
    }

    public RewriteDriver(List<? extends Rule> rules, int maxRewrites) {
        if (rules.isEmpty() || maxRewrites < 1) {
            throw new IllegalArgumentException("need at least one rule and maxRewrites >= 1");
        }
        this.rules = List.copyOf(rules);
        this.maxRewrites = maxRewrites;
    }

    public static RewriteDriver of(Rule... rules) {
        return new RewriteDriver(List.of(rules));
    }

    public List<Rule> rules() {
        return rules;
    }

    @Override
    public String name() {
        return "Rules" + rules.stream().map(Rule::name).toList();
    }

    /** Rewrites a copy of {@code network} to a fixpoint; the argument is left unchanged. */
    public Rewritten run(Network network) {
        GraphEditor editor = new GraphEditor(network.copy());
        RewriteLog log = new RewriteLog();
        apply(editor, log);
        return new Rewritten(editor.network(), log);
    }

    /** Rewrites in place to a fixpoint, logs one count entry per rule, then checks the graph. */
    @Override
    public void apply(GraphEditor editor, RewriteLog log) {
        Map<String, Integer> counts = new LinkedHashMap<>();
        rules.forEach(r -> counts.put(r.name(), 0));
        int applied = 0;
        while (true) {
            GraphView g = editor.view();
            Found f = firstMatch(g);
            if (f == null) {
                break;
            }
            if (applied == maxRewrites) {
                throw new IllegalStateException("no fixpoint after " + maxRewrites + " rewrites: " + f.rule.name()
                        + " still matches at '" + f.op + "'");
            }
            int before = editor.changeCount();
            f.rule.rewrite(f.result.match(), editor, log);
            if (editor.changeCount() == before) {
                throw new IllegalStateException(f.rule.name() + " matched at '" + f.op + "' but changed nothing");
            }
            editor.requireFinite(before, f.rule.name() + " at '" + f.op + "'");
            applied++;
            counts.merge(f.rule.name(), 1, Integer::sum);
        }
        counts.forEach((rule, n) -> log.add(rule, "applied " + n + " time" + (n == 1 ? "" : "s") + " (fixpoint)",
                List.of(), Map.of("count", n)));
        WellFormedness.require(editor.view(), name());
    }

    private Found firstMatch(GraphView g) {
        for (String op : g.ops()) {
            for (Rule r : rules) {
                MatchResult m = r.pattern().match(g, op);
                if (m.matched()) {
                    return new Found(r, op, m);
                }
            }
        }
        return null;
    }

    private record Found(Rule rule, String op, MatchResult result) {
    }
}
