package org.dfq4j.rewrite.engine;

import java.util.ArrayList;
import java.util.List;
import org.dfq4j.rewrite.graph.Network;

/**
 * A list of transforms run in order on a copy of a network, checking after each that the graph is
 * well-formed and that every constant and statistic it produced is finite. Fixpoint rules join a
 * pipeline wrapped in a {@link RewriteDriver}; joint rules are transforms themselves.
 */
public final class Pipeline {

    private final List<Transform> transforms;

    /** The transforms, in order. */
    public Pipeline(List<? extends Transform> transforms) {
        this.transforms = List.copyOf(transforms);
    }

    /** The transforms, in order. */
    public static Pipeline of(Transform... transforms) {
        return new Pipeline(List.of(transforms));
    }

    /** This pipeline followed by one more transform. */
    public Pipeline then(Transform t) {
        List<Transform> all = new ArrayList<>(transforms);
        all.add(t);
        return new Pipeline(all);
    }

    /** The transforms, in order. */
    public List<Transform> transforms() {
        return transforms;
    }

    /** Runs every transform on a copy of {@code network}; the argument is left unchanged. */
    public Rewritten run(Network network) {
        network.requireNchw(toString());
        GraphEditor editor = new GraphEditor(network);
        RewriteLog log = new RewriteLog();
        for (Transform t : transforms) {
            int before = editor.changeCount();
            t.apply(editor, log);
            WellFormedness.require(editor.view(), t.name());
            editor.requireFinite(before, t.name());
        }
        return new Rewritten(editor.network(), log);
    }

    @Override
    public String toString() {
        return "Pipeline" + transforms.stream().map(Transform::name).toList();
    }
}
