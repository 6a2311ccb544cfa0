package org.dfq4j.eval.report;

import static org.junit.jupiter.api.Assertions.assertEquals;

import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import org.junit.jupiter.api.Test;

class ProgressBarTest {

    @Test
    void lineShowsCountBarRateAndTimeLeft() {
        ProgressBar bar = new ProgressBar(new PrintStream(new ByteArrayOutputStream()), 200, "images", () -> 0L);
        // 50 of 200 in 10 s: 5 images/s, 150 left -> 30 s; a quarter of the 24-character bar is filled
        assertEquals("50/200 images [######------------------]  25% 5.0 images/s ETA 0:30", bar.line(50, 10));
        // 1 of 10000 after 2 s: 0.5 images/s, 9999 left -> 19998 s = 5:33:18
        ProgressBar big = new ProgressBar(new PrintStream(new ByteArrayOutputStream()), 10000, "images", () -> 0L);
        assertEquals("1/10000 images [------------------------]   0% 0.5 images/s ETA 5:33:18", big.line(1, 2));
        assertEquals("0/200 images [------------------------]   0% 0.0 images/s ETA ?", bar.line(0, 0));
    }

    @Test
    void updatesRedrawOneLineAndFinishEndsIt() {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        long[] now = {0};
        ProgressBar bar = new ProgressBar(new PrintStream(out, true, StandardCharsets.UTF_8), 4, "images",
                () -> now[0]);
        now[0] = 1_000_000_000L;
        bar.update(2);
        now[0] = 2_000_000_000L;
        bar.update(4);
        bar.finish();
        String first = bar.line(2, 1);
        String second = bar.line(4, 2);
        String pad = " ".repeat(Math.max(0, first.length() - second.length()));
        assertEquals("\r" + first + "\r" + second + pad + System.lineSeparator(), out.toString(StandardCharsets.UTF_8));
    }
}
