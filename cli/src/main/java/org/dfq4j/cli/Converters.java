package org.dfq4j.cli;

import org.dfq4j.eval.image.Preprocessing;
import org.dfq4j.rewrite.DfqException;
import org.dfq4j.rewrite.quant.RangeSpec;
import picocli.CommandLine.ITypeConverter;
import picocli.CommandLine.TypeConversionException;

/** picocli converters for the option values that are not enums: the library parses, picocli reports. */
final class Converters {

    private Converters() {
    }

    /** {@code --act-range}: auto, bn, bn:n, model, calib or none. */
    static final class Ranges implements ITypeConverter<RangeSpec> {
        @Override
        public RangeSpec convert(String value) {
            try {
                return RangeSpec.parse(value);
            } catch (DfqException e) {
                throw new TypeConversionException(e.getMessage());
            }
        }
    }

    /** {@code --preprocess}: a preset name or a spec such as crop=0.875,scale=0.0078431,offset=-1. */
    static final class Preprocess implements ITypeConverter<Preprocessing> {
        @Override
        public Preprocessing convert(String value) {
            try {
                return Preprocessing.parse(value);
            } catch (DfqException e) {
                throw new TypeConversionException(e.getMessage());
            }
        }
    }
}
