package org.dfq4j.cli;

import org.dfq4j.rewrite.DfqException;
import picocli.CommandLine.Option;

/** {@code --input-shape C,H,W}: the input of an ONNX model whose file leaves dims symbolic. */
final class InputShapeOption {

    @Option(names = "--input-shape", paramLabel = "C,H,W",
            description = "the model input's channels, height and width, for ONNX files that declare them symbolic "
                    + "(e.g. 3,224,224)")
    String inputShape;

    /**
     * [C, H, W] ("C,H,W" or "CxHxW"), or null when the option is absent.
     *
     * @throws DfqException unless it is three positive numbers
     */
    long[] chw() {
        if (inputShape == null) {
            return null;
        }
        String[] f = inputShape.trim().split("\\s*[,x]\\s*");
        long[] chw = new long[f.length];
        try {
            for (int i = 0; i < f.length; i++) {
                chw[i] = Long.parseLong(f[i]);
            }
        } catch (NumberFormatException e) {
            chw = null;
        }
        if (chw == null || chw.length != 3 || chw[0] < 1 || chw[1] < 1 || chw[2] < 1) {
            throw new DfqException("--input-shape must be three positive numbers C,H,W (e.g. 3,224,224), got '"
                    + inputShape + "'");
        }
        return chw;
    }
}
