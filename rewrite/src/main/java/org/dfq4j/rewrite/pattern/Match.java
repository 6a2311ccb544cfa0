package org.dfq4j.rewrite.pattern;

import java.util.ArrayList;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;

/**
 * A successful match, a small value: the anchor op it started at, every op it consumed (the anchor
 * first, then in the order the pattern visited them), the op where a following pattern continues
 * ({@link #last()}), the ops and variables bound to names, and the typed captures.
 *
 * <p>A value pattern that consumed no op (a constant operand) gives a match without ops and with a
 * null anchor; it only carries bindings, which {@link #with} merges into an op match.
 */
public final class Match {

    private final String anchor;
    private final List<String> ops;
    private final String end;
    private final Map<String, String> namedOps;
    private final Map<String, String> namedVars;
    private final Map<Capture<?>, List<Object>> captures;

    private Match(String anchor, List<String> ops, String end, Map<String, String> namedOps,
                  Map<String, String> namedVars, Map<Capture<?>, List<Object>> captures) {
        if (anchor != null && (ops.isEmpty() || !ops.get(0).equals(anchor))) {
            throw new IllegalArgumentException("a match starts at its anchor op");
        }
        this.anchor = anchor;
        this.ops = List.copyOf(ops);
        this.end = end;
        this.namedOps = Collections.unmodifiableMap(new LinkedHashMap<>(namedOps));
        this.namedVars = Collections.unmodifiableMap(new LinkedHashMap<>(namedVars));
        Map<Capture<?>, List<Object>> c = new LinkedHashMap<>();
        captures.forEach((k, v) -> c.put(k, List.copyOf(v)));
        this.captures = Collections.unmodifiableMap(c);
    }

    /** A match of one op with nothing bound. */
    public static Match of(String op) {
        Objects.requireNonNull(op);
        return new Match(op, List.of(op), op, Map.of(), Map.of(), Map.of());
    }

    /** A match that consumed no op and binds nothing (e.g. a constant operand). */
    public static Match empty() {
        return new Match(null, List.of(), null, Map.of(), Map.of(), Map.of());
    }

    /** The op the match started at (null for a value match that consumed no op). */
    public String anchor() {
        return anchor;
    }

    /** Every op consumed, the anchor first. */
    public List<String> ops() {
        return ops;
    }

    /** The op where a following pattern continues: the last op of the forward chain matched so far. */
    public String last() {
        return end;
    }

    /** The ops bound by name. */
    public Map<String, String> namedOps() {
        return namedOps;
    }

    /** The variables bound by name. */
    public Map<String, String> namedVars() {
        return namedVars;
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

    /** The value captured by {@code c} (the last one, if the pattern captured several); throws if none. */
    public <T> T get(Capture<T> c) {
        List<Object> v = captures.get(c);
        if (v == null || v.isEmpty()) {
            throw new IllegalArgumentException("match captures no " + c + " (has " + captures.keySet() + ")");
        }
        return c.cast(v.get(v.size() - 1));
    }

    /** Every value captured by {@code c}, in the order matched (empty if none). */
    public <T> List<T> getAll(Capture<T> c) {
        return captures.getOrDefault(c, List.of()).stream().map(c::cast).toList();
    }

    /** Whether {@code c} captured anything. */
    public boolean has(Capture<?> c) {
        return captures.containsKey(c);
    }

    /** This match with the op where it ends bound to {@code name}. */
    public Match bindLast(String name) {
        Map<String, String> m = new LinkedHashMap<>(namedOps);
        m.put(name, end);
        return new Match(anchor, ops, end, m, namedVars, captures);
    }

    /** This match with a variable bound to {@code name}. */
    public Match bindVar(String name, String var) {
        Map<String, String> m = new LinkedHashMap<>(namedVars);
        m.put(name, var);
        return new Match(anchor, ops, end, namedOps, m, captures);
    }

    /** This match with one more value captured by {@code c}. */
    public <T> Match capture(Capture<T> c, T value) {
        Map<Capture<?>, List<Object>> m = new LinkedHashMap<>(captures);
        List<Object> l = new ArrayList<>(m.getOrDefault(c, List.of()));
        l.add(c.cast(value));
        m.put(c, l);
        return new Match(anchor, ops, end, namedOps, namedVars, m);
    }

    /** This match continued by {@code next}, which starts where this one ends: ops appended, bindings merged, ends where next ends. */
    public Match then(Match next) {
        return merge(next, next.end != null ? next.end : end);
    }

    /** This match with the ops and bindings of {@code other} (an operand's match) added; it still ends where it ended. */
    public Match with(Match other) {
        return merge(other, end);
    }

    private Match merge(Match next, String newEnd) {
        List<String> all = new ArrayList<>(ops);
        for (String op : next.ops) {
            if (!all.contains(op)) {
                all.add(op);
            }
        }
        Map<String, String> o = new LinkedHashMap<>(namedOps);
        o.putAll(next.namedOps);
        Map<String, String> v = new LinkedHashMap<>(namedVars);
        v.putAll(next.namedVars);
        Map<Capture<?>, List<Object>> c = new LinkedHashMap<>(captures);
        next.captures.forEach((k, vals) -> {
            List<Object> l = new ArrayList<>(c.getOrDefault(k, List.of()));
            l.addAll(vals);
            c.put(k, l);
        });
        String a = anchor != null ? anchor : next.anchor;
        if (anchor == null && !all.isEmpty()) {
            all.remove(a);
            all.add(0, a);
        }
        return new Match(a, all, newEnd, o, v, c);
    }

    @Override
    public boolean equals(Object o) {
        return o instanceof Match m && Objects.equals(anchor, m.anchor) && ops.equals(m.ops) && Objects.equals(end, m.end)
                && namedOps.equals(m.namedOps) && namedVars.equals(m.namedVars) && captures.equals(m.captures);
    }

    @Override
    public int hashCode() {
        return Objects.hash(anchor, ops, end, namedOps, namedVars, captures);
    }

    @Override
    public String toString() {
        return "Match[" + ops + (namedOps.isEmpty() ? "" : ", " + namedOps) + (captures.isEmpty() ? "" : ", " + captures)
                + "]";
    }
}
