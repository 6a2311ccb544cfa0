package org.dfq4j.rewrite.pattern;

import java.util.ArrayList;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * A successful match: the anchor op it started at, every op it consumed in order (the last one is
 * where a following pattern continues), and the ops and variables it bound to names.
 */
public record Match(String anchor, List<String> ops, Map<String, String> namedOps, Map<String, String> namedVars) {

    public Match {
        if (ops.isEmpty() || !ops.get(0).equals(anchor)) {
            throw new IllegalArgumentException("a match starts at its anchor op");
        }
        ops = List.copyOf(ops);
        namedOps = Collections.unmodifiableMap(new LinkedHashMap<>(namedOps));
        namedVars = Collections.unmodifiableMap(new LinkedHashMap<>(namedVars));
    }

    /** A match of one op with no names bound. */
    public static Match of(String op) {
        return new Match(op, List.of(op), Map.of(), Map.of());
    }

    /** The last op consumed. */
    public String last() {
        return ops.get(ops.size() - 1);
    }

    /** The op bound to {@code name}; throws if none (a rule asks only for names its pattern binds). */
    public String op(String name) {
        String op = namedOps.get(name);
        if (op == null) {
            throw new IllegalArgumentException("match binds no op named '" + name + "' (has " + namedOps.keySet() + ")");
        }
        return op;
    }

    /** The variable bound to {@code name}; throws if none. */
    public String var(String name) {
        String v = namedVars.get(name);
        if (v == null) {
            throw new IllegalArgumentException("match binds no variable named '" + name + "' (has " + namedVars.keySet() + ")");
        }
        return v;
    }

    /** This match with its last op bound to {@code name}. */
    public Match bindLast(String name) {
        Map<String, String> m = new LinkedHashMap<>(namedOps);
        m.put(name, last());
        return new Match(anchor, ops, m, namedVars);
    }

    /** This match with a variable bound to {@code name}. */
    public Match bindVar(String name, String var) {
        Map<String, String> m = new LinkedHashMap<>(namedVars);
        m.put(name, var);
        return new Match(anchor, ops, namedOps, m);
    }

    /** This match continued by {@code next} (which starts where this one ends): ops appended, names merged. */
    public Match then(Match next) {
        List<String> all = new ArrayList<>(ops);
        all.addAll(next.ops);
        Map<String, String> o = new LinkedHashMap<>(namedOps);
        o.putAll(next.namedOps);
        Map<String, String> v = new LinkedHashMap<>(namedVars);
        v.putAll(next.namedVars);
        return new Match(anchor, all, o, v);
    }
}
