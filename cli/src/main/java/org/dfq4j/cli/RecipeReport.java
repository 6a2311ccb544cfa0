package org.dfq4j.cli;

import java.util.Locale;
import org.dfq4j.rewrite.DfqRecipe;

/**
 * A recipe as JSON reports record it (provenance), with the flags that reproduce it.
 *
 * @param calibrationImages how many calibration images the recipe uses where it needs them
 */
record RecipeReport(boolean relu, boolean equalize, boolean absorb, String correct, int bitsWeight, boolean perChannel,
                    boolean symmetric, int bitsAct, String actRange, int calibrationImages, String flags) {

    static RecipeReport of(DfqRecipe r) {
        return new RecipeReport(r.replaceRelu6(), r.equalize(), r.absorb(), r.correction().name().toLowerCase(Locale.ROOT),
                r.weights().bits(), r.weights().perChannel(), r.weights().symmetric(), r.activationBits(),
                r.activationRanges().toString(), r.calibrationImages(), RecipeOptions.flags(r));
    }
}
