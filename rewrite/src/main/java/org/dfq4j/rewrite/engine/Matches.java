package org.dfq4j.rewrite.engine;

import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.dfq4j.rewrite.pattern.Match;
import org.dfq4j.rewrite.view.GraphView;

/**
 * Every match of a {@link JointRule}'s pattern on one view of the graph, in topological order of
 * their anchors, and the places the pattern refused with the reason.
 *
 * @param view     the view the matches were found on (the graph before the rule changed it)
 * @param list     the matches
 * @param refusals why each refused anchor did not match, keyed by how logs name the place
 *                 ({@link GraphView#describe(String)})
 */
public record Matches(GraphView view, List<Match> list, Map<String, String> refusals) {

    public Matches {
        list = List.copyOf(list);
        refusals = Collections.unmodifiableMap(new LinkedHashMap<>(refusals));
    }

    /** Whether there are no matches. */
    public boolean isEmpty() {
        return list.isEmpty();
    }

    /** Number of matches. */
    public int size() {
        return list.size();
    }
}
