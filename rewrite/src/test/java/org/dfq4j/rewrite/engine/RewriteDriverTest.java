package org.dfq4j.rewrite.engine;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.function.BiConsumer;
import org.dfq4j.rewrite.graph.OpKind;
import org.dfq4j.rewrite.graph.Network;
import org.dfq4j.rewrite.graph.Padding;
import org.dfq4j.rewrite.pattern.Match;
import org.dfq4j.rewrite.pattern.Pattern;
import org.dfq4j.rewrite.pattern.Patterns;
import org.dfq4j.rewrite.testing.SyntheticNets;
import org.dfq4j.rewrite.transform.ReplaceRelu6;
import org.dfq4j.rewrite.view.GraphView;
import org.junit.jupiter.api.Test;

class RewriteDriverTest {

    private static Network twoRelu6() {
        SyntheticNets n = new SyntheticNets("driver", 5, 2, 4);
        var b = n.builder();
        var a = b.relu6("a", n.conv("c1", n.input(), 1, 2, 3, 1, Padding.VALID));
        var a2 = b.relu6("a2", n.conv("c2", a, 1, 3, 3, 1, Padding.VALID));
        return b.build(a2.name());
    }

    @Test
    void reachesAFixpointOnACopyAndLogsTheCount() {
        Network original = twoRelu6();
        Rewritten r = RewriteDriver.of(new ReplaceRelu6()).run(original);
        GraphView g = GraphView.of(r.network());
        assertTrue(g.isWellFormed(), g.problems().toString());
        assertEquals(0, g.ops().stream().filter(o -> g.kind(o) == OpKind.RELU6).count());
        assertEquals(2, GraphView.of(original).ops().stream()
                .filter(o -> GraphView.of(original).kind(o) == OpKind.RELU6).count(), "the input is untouched");
        List<RewriteLog.Entry> entries = r.log().entries("ReplaceRelu6");
        assertEquals(3, entries.size());
        assertEquals(2.0, entries.get(2).number("count"));
        // a second run has nothing left to do
        Rewritten again = RewriteDriver.of(new ReplaceRelu6()).run(r.network());
        assertEquals(0.0, again.log().entries("ReplaceRelu6").get(0).number("count"));
    }

    /** A rule matching every relu6 whose rewrite is {@code rewrite}. */
    private static Rule onRelu6(BiConsumer<Match, GraphEditor> rewrite) {
        return new PatternRule(Patterns.op(OpKind.RELU6), "not applied") {
            @Override
            public void rewrite(Match match, GraphEditor editor, RewriteLog log) {
                rewrite.accept(match, editor);
            }
        };
    }

    @Test
    void aRuleThatChangesNothingIsABug() {
        Rule lazy = onRelu6((match, editor) -> { });
        IllegalStateException e = assertThrows(IllegalStateException.class,
                () -> RewriteDriver.of(lazy).run(twoRelu6()));
        assertTrue(e.getMessage().contains("changed nothing"), e.getMessage());
    }

    @Test
    void aRuleThatNeverConvergesHitsTheBound() {
        Rule forever = onRelu6((match, editor) -> editor.replaceOp(match.anchor(), x -> x.getSameDiff().nn().relu6(x, 0)));
        IllegalStateException e = assertThrows(IllegalStateException.class,
                () -> new RewriteDriver(List.of(forever), 5).run(twoRelu6()));
        assertTrue(e.getMessage().startsWith("no fixpoint after 5 rewrites"), e.getMessage());
    }

    @Test
    void aPipelineRunsTransformsInOrderOnACopy() {
        Network original = twoRelu6();
        Transform mark = (editor, log) -> log.add("Mark", "ran", List.of(), Map.of("ops",
                editor.view().ops().size()));
        Rewritten r = Pipeline.of(mark, RewriteDriver.of(new ReplaceRelu6()), mark).run(original);
        List<RewriteLog.Entry> all = r.log().entries();
        assertEquals("Mark", all.get(0).step());
        assertEquals("Mark", all.get(all.size() - 1).step());
        assertEquals(all.get(0).number("ops"), all.get(all.size() - 1).number("ops"));
        assertTrue(r.network() != original);
    }

    @Test
    void aJointRuleGetsEveryMatchAtOnceAndTheRefusalsAreLogged() {
        Network original = twoRelu6();
        List<Matches> seen = new ArrayList<>();
        JointRule relu6AfterLayer = new JointRule() {
            @Override
            public String name() {
                return "Probe";
            }

            @Override
            public Pattern pattern() {
                // the second relu6 is a network output: refused with the reason
                return Patterns.where(Patterns.op(OpKind.RELU6), (g, m) -> !g.isNetworkOutput(g.output(m.anchor())),
                        "its output is a network output");
            }

            @Override
            public String refusal() {
                return "left";
            }

            @Override
            public void rewrite(Matches matches, GraphEditor editor, RewriteLog log) {
                seen.add(matches);
                matches.list().forEach(m -> editor.replaceOp(m.anchor(), x -> x.getSameDiff().nn().relu(x, 0)));
            }
        };
        Rewritten r = Pipeline.of(relu6AfterLayer).run(original);
        assertEquals(1, seen.size(), "one call with all matches");
        assertEquals(1, seen.get(0).size());
        assertEquals(Map.of("a2", "'" + GraphView.of(original).producer("a2") + "': its output is a network output"),
                seen.get(0).refusals());
        assertEquals(List.of("Probe: left: '" + GraphView.of(original).producer("a2") + "': its output is a network output [a2]"),
                r.log().entries("Probe").stream().map(RewriteLog.Entry::line).toList());
        GraphView g = GraphView.of(r.network());
        assertEquals(OpKind.RELU, g.kind(g.producer("a")));
        assertEquals(OpKind.RELU6, g.kind(g.producer("a2")));
    }
}
