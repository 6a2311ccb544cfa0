package org.dfq4j.cli;

import static org.dfq4j.cli.DfqRun.dfq;

import org.junit.jupiter.api.Test;

/** Every usage error, picocli's own included, is exactly one stderr line "dfq: error: ..." and exit 2. */
class UsageErrorsTest {

    @Test
    void aValueOfTheWrongType() {
        dfq("eval", "--model", "m.onnx", "--images", "x", "--bits-weight", "abc").failsWithOneLine("--bits-weight", "abc");
    }

    @Test
    void anUnknownOption() {
        dfq("eval", "--model", "m.onnx", "--images", "x", "--bits-weigth", "4").failsWithOneLine("--bits-weigth");
    }

    @Test
    void aMissingRequiredOption() {
        dfq("eval", "--images", "x").failsWithOneLine("--model");
        dfq("info").failsWithOneLine("--model");
    }

    @Test
    void aMissingOptionValue() {
        dfq("info", "--model").failsWithOneLine("--model");
    }

    @Test
    void noOrAnUnknownCommand() {
        dfq().failsWithOneLine("command");
        dfq("evaluate", "--model", "m").failsWithOneLine("evaluate");
    }

    @Test
    void aBadTableBitsFailsBeforeTheModelIsRead() {
        // with --spark too: --bits is checked before the model is read (m.onnx need not exist) and before
        // the scheduler is looked up (the cli module has none)
        dfq("table", "--model", "m.onnx", "--images", "x", "--bits", "6-8", "--spark", "local[1]")
                .failsWithOneLine("--bits", "6-8");
    }

    @Test
    void anEqualizationStrengthOutsideZeroToOne() {
        for (String bad : new String[] {"0", "1.5", "-1", "half"}) {
            dfq("eval", "--model", "m.onnx", "--images", "x", "--equalize", "--equalize-strength", bad)
                    .failsWithOneLine("--equalize-strength", bad, "(0, 1]");
        }
    }

    @Test
    void anEqualizationStrengthWithoutEqualization() {
        // checked on the recipe, before the model is read (m.onnx need not exist)
        dfq("eval", "--model", "m.onnx", "--images", "x", "--equalize-strength", "0.5")
                .failsWithOneLine("--equalize-strength", "--equalize");
    }

    @Test
    void aHintStaysOnTheSameLine() {
        dfq("bench", "--runs", "many").failsWithOneLine("--runs", "dfq bench --help");
    }
}
