package org.dfq4j.eval.report;

import java.io.PrintStream;
import java.util.Locale;
import java.util.function.LongSupplier;

/**
 * A one-line progress display for long runs: items done of total, items per second and the
 * estimated time left, redrawn in place with a carriage return; {@link #finish()} ends the line.
 */
public final class ProgressBar {

    private static final int WIDTH = 24;

    private final PrintStream out;
    private final long total;
    private final String unit;
    private final LongSupplier nanoClock;
    private final long startNanos;
    private int lastLength;

    public ProgressBar(PrintStream out, long total, String unit) {
        this(out, total, unit, System::nanoTime);
    }

    /** With an explicit clock (nanoseconds), for tests. */
    public ProgressBar(PrintStream out, long total, String unit, LongSupplier nanoClock) {
        this.out = out;
        this.total = Math.max(1, total);
        this.unit = unit;
        this.nanoClock = nanoClock;
        this.startNanos = nanoClock.getAsLong();
    }

    /** Redraws the line for {@code done} items finished. */
    public void update(long done) {
        String line = line(done, (nanoClock.getAsLong() - startNanos) / 1e9);
        int pad = Math.max(0, lastLength - line.length());
        out.print("\r" + line + " ".repeat(pad));
        out.flush();
        lastLength = line.length();
    }

    /** Ends the progress line. */
    public void finish() {
        out.println();
        out.flush();
    }

    /** The text of the line after {@code seconds} with {@code done} items finished. */
    public String line(long done, double seconds) {
        int filled = (int) (WIDTH * Math.min(done, total) / total);
        double rate = seconds > 0 ? done / seconds : 0;
        String eta = rate > 0 ? clock((total - done) / rate) : "?";
        return String.format(Locale.ROOT, "%d/%d %s [%s%s] %3d%% %.1f %s/s ETA %s", done, total, unit,
                "#".repeat(filled), "-".repeat(WIDTH - filled), 100 * done / total, rate, unit, eta);
    }

    private static String clock(double seconds) {
        long s = Math.round(Math.max(0, seconds));
        return s >= 3600 ? String.format(Locale.ROOT, "%d:%02d:%02d", s / 3600, s / 60 % 60, s % 60)
                : String.format(Locale.ROOT, "%d:%02d", s / 60, s % 60);
    }
}
