package org.dfq4j.eval.report;

import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import org.dfq4j.rewrite.QuantizationReport;
import org.dfq4j.rewrite.QuantizationReport.Activation;
import org.dfq4j.rewrite.QuantizationReport.ChannelBox;
import org.dfq4j.rewrite.QuantizationReport.Layer;
import org.dfq4j.rewrite.io.AtomicFile;

/**
 * Writes a {@link QuantizationReport} as one self-contained HTML page (inline SVG charts, no script
 * or style from elsewhere): a summary, overview charts (per-channel weight range spread per layer
 * before and after equalization, weight-quantization SQNR per layer, activation ranges and
 * activation-quantization SQNR per tensor), tables of the numbers, and per layer a boxplot of its
 * weights per output channel before and after equalization (the paper's figure 2).
 *
 * <p>The page is also well-formed XML, so that tests can parse it. Every chart is an
 * {@code <svg class="chart" data-chart="KIND">}; a boxplot panel is a {@code <g class="panel">} whose
 * {@code data-vmin}, {@code data-vmax}, {@code data-ytop} and {@code data-ybottom} give its value axis,
 * with one whisker ({@code M x y(max) V y(min)}), box and median per output channel, in channel order.
 * A short inline script records on each chart the size the browser gave its drawing
 * ({@code data-drawn="W H SHAPES"}), which the browser test reads.
 */
public final class HtmlReport {

    /** The file a report folder holds. */
    public static final String FILE = "index.html";

    private static final String BEFORE = "#9e9e9e";
    private static final String AFTER = "#1f77b4";
    private static final String NETWORK = "#d62728";
    private static final int PLOT_TOP = 24;
    private static final int PLOT_HEIGHT = 160;
    private static final int LEFT = 56;

    private HtmlReport() {
    }

    /**
     * Writes {@code report} to {@code dir}/index.html atomically.
     *
     * @param title   names the model and the recipe
     * @param summary rows of the summary table (model, recipe, metrics ...), in order
     */
    public static void write(Path dir, String title, Map<String, String> summary, QuantizationReport report) {
        AtomicFile.write(dir.resolve(FILE), html(title, summary, report).getBytes(StandardCharsets.UTF_8));
    }

    /** The page. */
    public static String html(String title, Map<String, String> summary, QuantizationReport r) {
        StringBuilder sb = new StringBuilder(1 << 20);
        sb.append("<!DOCTYPE html>\n<html xmlns=\"http://www.w3.org/1999/xhtml\" lang=\"en\">\n<head>\n")
                .append("<meta charset=\"utf-8\"/>\n<title>").append(esc(title)).append("</title>\n<style>\n")
                .append("body{font:14px/1.4 sans-serif;margin:24px;max-width:1120px;color:#222}")
                .append("table{border-collapse:collapse;margin:8px 0}td,th{border:1px solid #ccc;padding:2px 6px;")
                .append("text-align:right}td:first-child,th:first-child{text-align:left}")
                .append("svg{display:block;margin:4px 0}figure{margin:16px 0}figcaption{color:#555}")
                .append(".key{display:inline-block;width:10px;height:10px;margin:0 4px}section{margin:20px 0}")
                .append("details{color:#555;font-size:12px}td.note{text-align:left;font-size:12px;min-width:300px}")
                .append("\n</style>\n</head>\n<body>\n");
        sb.append("<h1>").append(esc(title)).append("</h1>\n<table class=\"summary\">\n");
        summary.forEach((k, v) -> sb.append("<tr><th>").append(esc(k)).append("</th><td>").append(esc(v))
                .append("</td></tr>\n"));
        sb.append("<tr><th>activation ranges</th><td>").append(esc(r.rangeSource())).append("</td></tr>\n")
                .append("<tr><th>activation measurements</th><td>").append(r.calibrationImages() > 0
                        ? r.calibrationImages() + " calibration images" : "not measured (no calibration images)")
                .append("</td></tr>\n</table>\n");

        sb.append("<h2>Overview</h2>\n");
        spreadChart(sb, r.layers());
        weightSqnrChart(sb, r.layers());
        if (!r.activations().isEmpty()) {
            rangeChart(sb, r.activations());
            if (r.calibrationImages() > 0) {
                activationSqnrChart(sb, r.activations());
            }
        } else {
            sb.append("<p>No activation is quantized (weights only).</p>\n");
        }
        layerTable(sb, r.layers());
        activationTable(sb, r.activations());

        sb.append("<h2>Weights per output channel, layer by layer</h2>\n<p>Each box is one output channel: ")
                .append("whiskers at its smallest and largest weight, the box from the first to the third quartile, ")
                .append("a line at the median. <span class=\"key\" style=\"background:").append(BEFORE)
                .append("\"></span>before the float rewrites (BatchNorm folded) <span class=\"key\" style=\"background:")
                .append(AFTER).append("\"></span>after them (what is quantized).</p>\n");
        for (int i = 0; i < r.layers().size(); i++) {
            layerSection(sb, i, r.layers().get(i));
        }
        sb.append("<script>\n// records the size the browser gave each chart's drawing (read by the browser test)\n")
                .append("for (const svg of document.querySelectorAll('svg.chart')) {\n")
                .append("  let shapes = 0;\n")
                .append("  for (const e of svg.querySelectorAll('path,rect,line,circle')) {\n")
                .append("    const b = e.getBBox();\n    if (b.width + b.height > 0) shapes++;\n  }\n")
                .append("  const b = svg.getBBox();\n")
                .append("  svg.setAttribute('data-drawn', Math.round(b.width) + ' ' + Math.round(b.height) + ' ' + shapes);\n")
                .append("}\n</script>\n</body>\n</html>\n");
        return sb.toString();
    }

    // ---- overview charts ------------------------------------------------------------------------

    /** Per layer, boxes over its channels of log10(channel range / largest channel range), before and after. */
    private static void spreadChart(StringBuilder sb, List<Layer> layers) {
        List<double[]> before = new ArrayList<>();
        List<double[]> after = new ArrayList<>();
        double lo = 0;
        for (Layer l : layers) {
            double[] b = logRelativeRanges(l.before());
            double[] a = logRelativeRanges(l.after());
            before.add(b);
            after.add(a);
            for (double v : b) {
                lo = Math.min(lo, v);
            }
            for (double v : a) {
                lo = Math.min(lo, v);
            }
        }
        lo = Math.min(-1, Math.floor(lo));
        int step = 14;
        int width = Math.max(400, LEFT + layers.size() * step + 20);
        Axis y = new Axis(lo, 0);
        String caption = "Per-channel weight ranges per layer, relative to the layer's largest "
                + "(log10; 0 = the widest channel; a channel at -2 gets 1/100 of the tensor's levels under per-tensor "
                + "quantization): <span class=\"key\" style=\"background:" + BEFORE + "\"></span>before, "
                + "<span class=\"key\" style=\"background:" + AFTER + "\"></span>after equalization. "
                + "Dead (all-zero) channels are left out.";
        figureStart(sb, "spread", width, caption);
        yAxis(sb, y, width, tickValues(lo, 0, 1), v -> String.format(Locale.ROOT, "1e%d", Math.round(v)));
        for (int i = 0; i < layers.size(); i++) {
            double x = LEFT + i * step + step / 2.0;
            sb.append("<g><title>").append(esc(layers.get(i).layer())).append("</title>");
            summaryBox(sb, y, x - 3, 2.5, before.get(i), BEFORE);
            summaryBox(sb, y, x + 3, 2.5, after.get(i), AFTER);
            sb.append("</g>\n");
        }
        figureEnd(sb, caption);
    }

    private static double[] logRelativeRanges(List<ChannelBox> boxes) {
        double max = boxes.stream().mapToDouble(ChannelBox::range).max().orElse(0);
        if (!(max > 0)) {
            return new double[0];
        }
        return boxes.stream().mapToDouble(ChannelBox::range).filter(v -> v > 0).map(v -> Math.log10(v / max)).toArray();
    }

    /** A box of the five-number summary of values (nothing for no values). */
    private static void summaryBox(StringBuilder sb, Axis y, double x, double half, double[] values, String colour) {
        if (values.length == 0) {
            return;
        }
        float[] f = new float[values.length];
        for (int i = 0; i < f.length; i++) {
            f[i] = (float) values[i];
        }
        Arrays.sort(f);
        double q1 = f[(int) Math.floor(0.25 * (f.length - 1))];
        double med = f[(int) Math.floor(0.5 * (f.length - 1))];
        double q3 = f[(int) Math.ceil(0.75 * (f.length - 1))];
        sb.append(String.format(Locale.ROOT, "<path stroke=\"%s\" d=\"M%.1f %.1fV%.1f\"/>", colour, x, y.at(f[f.length - 1]),
                y.at(f[0])));
        sb.append(String.format(Locale.ROOT, "<rect fill=\"%s\" x=\"%.1f\" y=\"%.1f\" width=\"%.1f\" height=\"%.1f\"/>",
                colour, x - half, y.at(q3), 2 * half, Math.max(0.5, y.at(q1) - y.at(q3))));
        sb.append(String.format(Locale.ROOT, "<path stroke=\"#000\" d=\"M%.1f %.1fH%.1f\"/>", x - half, y.at(med), x + half));
    }

    private static void weightSqnrChart(StringBuilder sb, List<Layer> layers) {
        bars(sb, "weight-sqnr", "Weight-quantization SQNR per layer, dB: <span class=\"key\" style=\"background:"
                + BEFORE + "\"></span>the weights before the float rewrites with the same scheme (nearest rounding), "
                + "<span class=\"key\" style=\"background:" + AFTER + "\"></span>the quantized network's weights against "
                + "the float ones. Higher is better; +inf (nothing lost) is drawn at the top.",
                layers.stream().map(Layer::layer).toList(), layers.stream().mapToDouble(Layer::sqnrBeforeDb).toArray(),
                layers.stream().mapToDouble(Layer::sqnrAfterDb).toArray(), null);
    }

    private static void activationSqnrChart(StringBuilder sb, List<Activation> acts) {
        bars(sb, "activation-sqnr", "Activation-quantization SQNR per tensor on the calibration images, dB: "
                + "<span class=\"key\" style=\"background:" + AFTER + "\"></span>quantizing this tensor alone with its range "
                + "(clipping and rounding), <span class=\"key\" style=\"background:" + NETWORK + "\"></span>the 8-bit "
                + "network's value of it against FP32 (all error accumulated up to there; the last one is the output's).",
                acts.stream().map(Activation::tensor).toList(), null, acts.stream().mapToDouble(Activation::sqnrDb).toArray(),
                acts.stream().mapToDouble(Activation::networkSqnrDb).toArray());
    }

    /** Bars per item: grey (first, may be null), blue (second), red dots (third, may be null). */
    private static void bars(StringBuilder sb, String kind, String caption, List<String> names, double[] grey,
                             double[] blue, double[] dots) {
        double lo = 0;
        double hi = 1;
        for (double[] a : new double[][] {grey, blue, dots}) {
            if (a != null) {
                for (double v : a) {
                    if (Double.isFinite(v)) {
                        lo = Math.min(lo, v);
                        hi = Math.max(hi, v);
                    }
                }
            }
        }
        double tick = niceStep(hi - lo);
        lo = Math.floor(lo / tick) * tick;
        hi = Math.ceil(hi / tick) * tick;
        Axis y = new Axis(lo, hi);
        int step = grey == null ? 10 : 14;
        int width = Math.max(400, LEFT + names.size() * step + 20);
        figureStart(sb, kind, width, caption);
        yAxis(sb, y, width, tickValues(lo, hi, tick), tickLabel(tick));
        for (int i = 0; i < names.size(); i++) {
            double x = LEFT + i * step + 1;
            sb.append("<g><title>").append(esc(names.get(i)));
            for (double[] a : new double[][] {grey, blue, dots}) {
                if (a != null) {
                    sb.append(' ').append(fmt(a[i]));
                }
            }
            sb.append("</title>");
            if (grey != null) {
                bar(sb, y, x, 5, grey[i], BEFORE);
                x += 6;
            }
            bar(sb, y, x, grey == null ? 8 : 5, blue[i], AFTER);
            if (dots != null && !Double.isNaN(dots[i])) {
                sb.append(String.format(Locale.ROOT, "<circle fill=\"%s\" cx=\"%.1f\" cy=\"%.1f\" r=\"2.5\"/>", NETWORK,
                        x + 4, y.at(clampTo(y, dots[i]))));
            }
            sb.append("</g>\n");
        }
        figureEnd(sb, caption);
    }

    private static void bar(StringBuilder sb, Axis y, double x, double w, double v, String colour) {
        if (Double.isNaN(v)) {
            return;
        }
        double top = y.at(Math.max(0, clampTo(y, v)));
        double bottom = y.at(Math.min(0, clampTo(y, v)));
        sb.append(String.format(Locale.ROOT, "<rect fill=\"%s\" x=\"%.1f\" y=\"%.1f\" width=\"%.1f\" height=\"%.1f\"/>",
                colour, x, top, w, Math.max(0.5, bottom - top)));
    }

    private static double clampTo(Axis y, double v) {
        return Math.max(y.lo, Math.min(y.hi, v));
    }

    /** Per tensor its quantization range (bar) and, when measured, the range its FP32 values covered (black line). */
    private static void rangeChart(StringBuilder sb, List<Activation> acts) {
        double lo = 0;
        double hi = 0;
        for (Activation a : acts) {
            lo = Math.min(lo, Math.min(a.min(), finiteOr(a.observedMin(), 0)));
            hi = Math.max(hi, Math.max(a.max(), finiteOr(a.observedMax(), 0)));
        }
        if (hi - lo <= 0) {
            hi = lo + 1;
        }
        double tick = niceStep(hi - lo);
        lo = Math.floor(lo / tick) * tick;
        hi = Math.ceil(hi / tick) * tick;
        Axis y = new Axis(lo, hi);
        int step = 10;
        int width = Math.max(400, LEFT + acts.size() * step + 20);
        String caption = "Activation range chosen per quantized tensor "
                + "(<span class=\"key\" style=\"background:" + AFTER + "\"></span>[min, max] of its quantizer), "
                + "in network order, with the range its FP32 values covered on the calibration images (black line) where "
                + "measured: a line beyond the bar is clipped, a bar beyond the line spends levels on values that never occur.";
        figureStart(sb, "activation-ranges", width, caption);
        yAxis(sb, y, width, tickValues(lo, hi, tick), tickLabel(tick));
        for (int i = 0; i < acts.size(); i++) {
            Activation a = acts.get(i);
            double x = LEFT + i * step + 1;
            sb.append("<g><title>").append(esc(a.tensor())).append(" [").append(fmt(a.min())).append(", ")
                    .append(fmt(a.max())).append("]</title>");
            sb.append(String.format(Locale.ROOT, "<rect fill=\"%s\" x=\"%.1f\" y=\"%.1f\" width=\"8\" height=\"%.1f\"/>",
                    AFTER, x, y.at(a.max()), Math.max(0.5, y.at(a.min()) - y.at(a.max()))));
            if (Double.isFinite(a.observedMin())) {
                sb.append(String.format(Locale.ROOT, "<path stroke=\"#000\" stroke-width=\"1.5\" d=\"M%.1f %.1fV%.1f\"/>",
                        x + 4, y.at(a.observedMax()), y.at(a.observedMin())));
            }
            sb.append("</g>\n");
        }
        figureEnd(sb, caption);
    }

    // ---- tables ---------------------------------------------------------------------------------

    private static void layerTable(StringBuilder sb, List<Layer> layers) {
        sb.append("<h2>Weight layers</h2>\n<table class=\"layers\">\n<tr><th>layer</th><th>kind</th><th>channels</th>")
                .append("<th>changed by the float rewrites</th><th>range max/min before</th><th>range max/min after</th>")
                .append("<th>weight SQNR before, dB</th><th>weight SQNR after, dB</th></tr>\n");
        for (int i = 0; i < layers.size(); i++) {
            Layer l = layers.get(i);
            sb.append("<tr><td><a href=\"#layer-").append(i).append("\">").append(esc(l.layer())).append("</a></td><td>")
                    .append(l.kind().name().toLowerCase(Locale.ROOT)).append("</td><td>").append(l.after().size())
                    .append("</td><td>").append(l.changed() ? "yes" : "no").append("</td><td>")
                    .append(fmt(ratio(l.before()))).append("</td><td>").append(fmt(ratio(l.after()))).append("</td><td>")
                    .append(fmt(l.sqnrBeforeDb())).append("</td><td>").append(fmt(l.sqnrAfterDb())).append("</td></tr>\n");
        }
        sb.append("</table>\n");
    }

    /** Largest channel range over the smallest nonzero one (NaN without nonzero ranges). */
    private static double ratio(List<ChannelBox> boxes) {
        double[] r = boxes.stream().mapToDouble(ChannelBox::range).filter(v -> v > 0).toArray();
        return r.length == 0 ? Double.NaN : Arrays.stream(r).max().getAsDouble() / Arrays.stream(r).min().getAsDouble();
    }

    private static void activationTable(StringBuilder sb, List<Activation> acts) {
        if (acts.isEmpty()) {
            return;
        }
        sb.append("<h2>Quantized activations</h2>\n<table class=\"activations\">\n<tr><th>tensor</th><th>bits</th>")
                .append("<th>min</th><th>max</th><th>FP32 min</th><th>FP32 max</th><th>clipped %</th>")
                .append("<th>SQNR alone, dB</th><th>SQNR in the network, dB</th><th>how the range was chosen</th></tr>\n");
        for (Activation a : acts) {
            sb.append("<tr><td>").append(esc(a.tensor())).append("</td><td>").append(a.bits()).append("</td><td>")
                    .append(fmt(a.min())).append("</td><td>").append(fmt(a.max())).append("</td><td>")
                    .append(fmt(a.observedMin())).append("</td><td>").append(fmt(a.observedMax())).append("</td><td>")
                    .append(fmt(100 * a.clipped())).append("</td><td>").append(fmt(a.sqnrDb())).append("</td><td>")
                    .append(fmt(a.networkSqnrDb())).append("</td><td class=\"note\">")
                    .append(esc(a.note())).append("</td></tr>\n");
        }
        sb.append("</table>\n");
    }

    // ---- per-layer boxplots ---------------------------------------------------------------------

    private static void layerSection(StringBuilder sb, int index, Layer l) {
        sb.append("<section id=\"layer-").append(index).append("\">\n<h3>").append(esc(l.layer())).append("</h3>\n<p>")
                .append(l.kind().name().toLowerCase(Locale.ROOT)).append(", ").append(l.after().size())
                .append(" output channels; weight SQNR ").append(fmt(l.sqnrBeforeDb())).append(" dB before, ")
                .append(fmt(l.sqnrAfterDb())).append(" dB quantized")
                .append(l.changed() ? "" : "; not changed by the float rewrites").append(".</p>\n");
        boolean two = l.changed() && !l.before().isEmpty();
        int panel = Math.max(240, Math.min(two ? 480 : 1000, 3 * l.after().size() + 20));
        int width = two ? 2 * (LEFT + panel) + 10 : LEFT + panel + 10;
        sb.append(String.format(Locale.ROOT, "<svg xmlns=\"http://www.w3.org/2000/svg\" class=\"chart\" data-chart=\"channels\" "
                + "data-layer=\"%s\" data-panels=\"%d\" width=\"%d\" height=\"%d\" viewBox=\"0 0 %d %d\">\n", esc(l.layer()),
                two ? 2 : 1, width, PLOT_TOP + PLOT_HEIGHT + 24, width, PLOT_TOP + PLOT_HEIGHT + 24));
        if (two) {
            channelPanel(sb, LEFT, panel, l.before(), "before", "before the float rewrites");
            channelPanel(sb, 2 * LEFT + panel + 10, panel, l.after(), "after", "after");
        } else {
            channelPanel(sb, LEFT, panel, l.after(), "after", l.changed() ? "after (new layer)" : "unchanged");
        }
        sb.append("</svg>\n");
        if (!l.notes().isEmpty()) {
            sb.append("<details><summary>rewrite log (").append(l.notes().size()).append(")</summary><ul>\n");
            l.notes().forEach(n -> sb.append("<li>").append(esc(n)).append("</li>\n"));
            sb.append("</ul></details>\n");
        }
        sb.append("</section>\n");
    }

    /** One panel: a box per channel on the panel's own value axis. */
    private static void channelPanel(StringBuilder sb, int x0, int width, List<ChannelBox> boxes, String stage,
                                     String label) {
        double lo = boxes.stream().mapToDouble(ChannelBox::min).min().orElse(0);
        double hi = boxes.stream().mapToDouble(ChannelBox::max).max().orElse(0);
        if (!(hi > lo)) {
            lo -= 1;
            hi += 1;
        }
        Axis y = new Axis(lo, hi);
        sb.append(String.format(Locale.ROOT, "<g class=\"panel\" data-stage=\"%s\" data-channels=\"%d\" data-vmin=\"%s\" "
                + "data-vmax=\"%s\" data-ytop=\"%d\" data-ybottom=\"%d\">\n", stage, boxes.size(), lo, hi, PLOT_TOP,
                PLOT_TOP + PLOT_HEIGHT));
        sb.append(String.format(Locale.ROOT, "<text x=\"%d\" y=\"14\" font-size=\"12\">%s</text>\n", x0, esc(label)));
        sb.append(String.format(Locale.ROOT, "<path stroke=\"#888\" fill=\"none\" d=\"M%d %dV%dH%d\"/>\n", x0,
                PLOT_TOP, PLOT_TOP + PLOT_HEIGHT, x0 + width));
        for (double v : new double[] {lo, hi}) {
            sb.append(String.format(Locale.ROOT, "<text x=\"%d\" y=\"%.1f\" font-size=\"10\" text-anchor=\"end\">%s</text>\n",
                    x0 - 4, y.at(v) + 3, fmt(v)));
        }
        if (lo < 0 && hi > 0) {
            sb.append(String.format(Locale.ROOT, "<path stroke=\"#ddd\" d=\"M%d %.1fH%d\"/>\n", x0, y.at(0), x0 + width));
        }
        String colour = stage.equals("before") ? BEFORE : AFTER;
        double step = (double) width / boxes.size();
        double half = Math.max(0.25, 0.35 * step);
        StringBuilder whiskers = new StringBuilder();
        StringBuilder rects = new StringBuilder();
        StringBuilder medians = new StringBuilder();
        for (int c = 0; c < boxes.size(); c++) {
            ChannelBox b = boxes.get(c);
            double x = x0 + (c + 0.5) * step;
            whiskers.append('M');
            coordinate(whiskers, x).append(' ');
            coordinate(whiskers, y.at(b.max())).append('V');
            coordinate(whiskers, y.at(b.min()));
            rects.append('M');
            coordinate(rects, x - half).append(' ');
            coordinate(rects, y.at(b.q3())).append('H');
            coordinate(rects, x + half).append('V');
            coordinate(rects, y.at(b.q1())).append('H');
            coordinate(rects, x - half).append('Z');
            medians.append('M');
            coordinate(medians, x - half).append(' ');
            coordinate(medians, y.at(b.median())).append('H');
            coordinate(medians, x + half);
        }
        sb.append("<path class=\"whiskers\" stroke=\"").append(colour).append("\" stroke-width=\"")
                .append(String.format(Locale.ROOT, "%.2f", Math.min(1, step / 2))).append("\" d=\"").append(whiskers)
                .append("\"/>\n<path class=\"boxes\" fill=\"").append(colour).append("\" stroke=\"").append(colour)
                .append("\" stroke-width=\"0.3\" d=\"").append(rects).append("\"/>\n<path class=\"medians\" stroke=\"#000\" ")
                .append("stroke-width=\"0.5\" d=\"").append(medians).append("\"/>\n</g>\n");
    }

    /** A pixel coordinate to 0.1 pixel, as %.1f writes it (String.format is slow for the thousands of boxes). */
    static StringBuilder coordinate(StringBuilder sb, double v) {
        long tenths = Math.round(v * 10);
        if (tenths < 0) {
            sb.append('-');
            tenths = -tenths;
        }
        return sb.append(tenths / 10).append('.').append(tenths % 10);
    }

    // ---- helpers --------------------------------------------------------------------------------

    /** A linear value axis onto the plot's pixel rows (value lo at the bottom). */
    private record Axis(double lo, double hi) {
        double at(double v) {
            return PLOT_TOP + PLOT_HEIGHT - (v - lo) / (hi - lo) * PLOT_HEIGHT;
        }
    }

    private static void figureStart(StringBuilder sb, String kind, int width, String captionHtml) {
        int h = PLOT_TOP + PLOT_HEIGHT + 16;
        sb.append("<figure>\n").append(String.format(Locale.ROOT, "<svg xmlns=\"http://www.w3.org/2000/svg\" class=\"chart\" "
                + "data-chart=\"%s\" width=\"%d\" height=\"%d\" viewBox=\"0 0 %d %d\">\n", kind, width, h, width, h));
        sb.append(String.format(Locale.ROOT, "<path stroke=\"#888\" fill=\"none\" d=\"M%d %dV%dH%d\"/>\n", LEFT, PLOT_TOP,
                PLOT_TOP + PLOT_HEIGHT, width - 10));
        sb.append("<desc>").append(captionHtml.replaceAll("<[^>]*>", "")).append("</desc>\n");
    }

    private static void figureEnd(StringBuilder sb, String captionHtml) {
        sb.append("</svg>\n<figcaption>").append(captionHtml).append("</figcaption>\n</figure>\n");
    }

    private static void yAxis(StringBuilder sb, Axis y, int width, double[] ticks,
                              java.util.function.DoubleFunction<String> label) {
        for (double t : ticks) {
            sb.append(String.format(Locale.ROOT, "<path stroke=\"#eee\" d=\"M%d %.1fH%d\"/><text x=\"%d\" y=\"%.1f\" "
                    + "font-size=\"10\" text-anchor=\"end\">%s</text>\n", LEFT + 1, y.at(t), width - 10, LEFT - 4,
                    y.at(t) + 3, esc(label.apply(t))));
        }
    }

    /** Tick labels with as many decimals as the step needs. */
    private static java.util.function.DoubleFunction<String> tickLabel(double step) {
        int decimals = Math.max(0, (int) -Math.floor(Math.log10(step) + 1e-9));
        return v -> String.format(Locale.ROOT, "%." + decimals + "f", Math.abs(v) < step / 2 ? 0.0 : v);
    }

    private static double[] tickValues(double lo, double hi, double step) {
        List<Double> t = new ArrayList<>();
        for (int i = 0; lo + i * step <= hi + 1e-9 * step && i < 50; i++) {
            t.add(lo + i * step);
        }
        return t.stream().mapToDouble(Double::doubleValue).toArray();
    }

    /** 1, 2 or 5 times a power of ten, giving about 5 ticks over span. */
    private static double niceStep(double span) {
        double raw = span / 5;
        double p = Math.pow(10, Math.floor(Math.log10(raw)));
        double m = raw / p;
        return (m <= 1 ? 1 : m <= 2 ? 2 : m <= 5 ? 5 : 10) * p;
    }

    private static double finiteOr(double v, double other) {
        return Double.isFinite(v) ? v : other;
    }

    static String fmt(double v) {
        if (Double.isNaN(v)) {
            return "-";
        }
        if (Double.isInfinite(v)) {
            return v > 0 ? "+inf" : "-inf";
        }
        double a = Math.abs(v);
        return a != 0 && (a < 1e-3 || a >= 1e5) ? String.format(Locale.ROOT, "%.3g", v) : String.format(Locale.ROOT, "%.4g", v);
    }

    /** Text escaped for HTML and XML. */
    static String esc(String s) {
        StringBuilder b = new StringBuilder(s.length());
        for (char c : s.toCharArray()) {
            switch (c) {
                case '&' -> b.append("&amp;");
                case '<' -> b.append("&lt;");
                case '>' -> b.append("&gt;");
                case '"' -> b.append("&quot;");
                default -> b.append(c);
            }
        }
        return b.toString();
    }
}
