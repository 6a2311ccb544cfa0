package org.dfq4j.examples;

import java.nio.file.Path;
import java.util.List;
import org.dfq4j.eval.data.PhotographCalibration;
import org.dfq4j.eval.image.Photographs;
import org.dfq4j.eval.image.Preprocessing;
import org.dfq4j.rewrite.*;
import org.dfq4j.rewrite.engine.*;
import org.dfq4j.rewrite.graph.*;
import org.dfq4j.rewrite.pattern.*;
import org.dfq4j.rewrite.quant.RangeSpec;
import org.dfq4j.zoo.ModelFiles;

/** Quantize a model to 8 bits with a rule of your own, calibrate on photographs, run, save and reload. */
public final class QuickStart {
    /** A custom rule: identity(x) = x, so identity ops go. */
    static final class DropIdentity implements Rule {
        public Pattern pattern() { return Patterns.op(OpKind.IDENTITY); }
        public void rewrite(Match m, GraphEditor e, RewriteLog log) {
            log.add(name(), "removed identity", List.of(e.view().output(m.anchor())));
            e.bypass(m.anchor());
        }
    }

    public static void main(String[] args) {         // MODEL PHOTO_FOLDER OUT.dfq
        Network net = ModelFiles.read(args[0]);
        Preprocessing pre = Preprocessing.INCEPTION;     // center crop, x / 127.5 - 1
        DfqRecipe recipe = DfqRecipe.builder().equalize(true).correction(DfqRecipe.Correction.EMPIRICAL)
                .activationRanges(RangeSpec.calibration()).calibrationImages(8).rule(new DropIdentity()).build();
        QuantizedNetwork q = Quantizer.builder(recipe).inputRange(pre.valueRange())
                .calibration(PhotographCalibration.folder(Path.of(args[1]), pre)).build().quantize(net);
        var photo = pre.batchOf(Photographs.in(Path.of(args[1])).get(0), net.inputShape());
        NetworkFile.save(q.network(), Path.of(args[2]));
        Network reloaded = NetworkFile.load(Path.of(args[2]));
        System.out.printf("top-1 FP32 %d, 8-bit %d, reloaded %d; %d rewrites logged%n",
                q.floatNetwork().output(photo).argMax(1).getInt(0), q.network().output(photo).argMax(1).getInt(0),
                reloaded.output(photo).argMax(1).getInt(0), q.log().size());
    }
}
