package org.dfq4j.cli;

import java.util.OptionalDouble;
import java.util.function.Function;
import org.dfq4j.eval.image.Preprocessing;
import org.dfq4j.rewrite.DfqException;
import org.dfq4j.rewrite.quant.RangeSpec;
import org.dfq4j.rewrite.quant.Rounding;
import picocli.CommandLine.ITypeConverter;
import picocli.CommandLine.TypeConversionException;

/** picocli converters for the option values that are not enums: the library parses, picocli reports. */
final class Converters {

    private Converters() {
    }

    /** A converter from a library parser whose errors become picocli's one-line conversion errors. */
    abstract static class Parsed<T> implements ITypeConverter<T> {
        private final Function<String, T> parser;

        Parsed(Function<String, T> parser) {
            this.parser = parser;
        }

        @Override
        public T convert(String value) {
            try {
                return parser.apply(value);
            } catch (DfqException e) {
                throw new TypeConversionException(e.getMessage());
            }
        }
    }

    /** {@code --act-range}: auto, bn, bn:n, model, calib or none. */
    static final class Ranges extends Parsed<RangeSpec> {
        Ranges() {
            super(RangeSpec::parse);
        }
    }

    /** {@code --rounding}: nearest or datafree (any case). */
    static final class RoundingName extends Parsed<Rounding> {
        RoundingName() {
            super(v -> {
                for (Rounding r : Rounding.values()) {
                    if (r.name().equalsIgnoreCase(v.trim())) {
                        return r;
                    }
                }
                throw new DfqException("unknown rounding '" + v + "'; use nearest or datafree");
            });
        }
    }

    /** {@code --equalize-strength}: auto (empty) or a number in (0, 1]. */
    static final class Strength extends Parsed<OptionalDouble> {
        Strength() {
            super(v -> {
                if (v.trim().equalsIgnoreCase("auto")) {
                    return OptionalDouble.empty();
                }
                double beta;
                try {
                    beta = Double.parseDouble(v.trim());
                } catch (NumberFormatException e) {
                    beta = Double.NaN;
                }
                if (!(beta > 0 && beta <= 1)) {
                    throw new DfqException("'" + v + "' is not an equalization strength; use auto or a number in (0, 1]");
                }
                return OptionalDouble.of(beta);
            });
        }
    }

    /** {@code --preprocess}: a preset name or a spec such as crop=0.875,scale=0.0078431,offset=-1. */
    static final class Preprocess extends Parsed<Preprocessing> {
        Preprocess() {
            super(Preprocessing::parse);
        }
    }
}
