package org.dfq4j.cli;

import static org.dfq4j.cli.DfqRun.dfq;
import static org.dfq4j.cli.DfqRun.ok;
import static org.dfq4j.cli.DfqRun.sha256;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import java.awt.Color;
import java.io.File;
import java.io.IOException;
import java.io.StringReader;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import javax.xml.parsers.DocumentBuilderFactory;
import org.dfq4j.rewrite.DfqRecipe;
import org.dfq4j.rewrite.graph.Network;
import org.dfq4j.rewrite.graph.WeightLayer;
import org.dfq4j.rewrite.view.GraphView;
import org.dfq4j.zoo.ModelFiles;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;
import org.w3c.dom.Document;
import org.w3c.dom.Element;
import org.w3c.dom.NodeList;
import org.xml.sax.InputSource;

/**
 * {@code dfq eval --report DIR}: one self-contained page whose charts draw what the networks hold
 * (the per-channel weights of the equalized graph, recomputed here through the Java API), written
 * under the output rules, and rendered by a real browser (headless Chromium, when one is on PATH).
 */
class ReportTest extends TinyClassifierTest {

    static Path equalizable;
    static Path colours;
    static Path photos;
    static Path calibration;

    @BeforeAll
    static void setUp() throws Exception {
        // a conv whose output channels have very different ranges, then relu, pooling and the dense layer:
        // equalization scales conv -> fc
        INDArray scales = Nd4j.createFromArray(0.05f, 1f, 4f, 20f).reshape(4, 1, 1, 1);
        INDArray convW = Nd4j.rand(DataType.FLOAT, 4, 3, 1, 1).subi(0.3).muli(scales);
        equalizable = TinyClassifier.write(dir.resolve("unbalanced.onnx"), 8, convW, true,
                Nd4j.rand(DataType.FLOAT, 2, 4).subi(0.5));
        colours = Files.writeString(dir.resolve("report-colours.txt"), "red\ngreen\n");
        photos = Files.createDirectory(dir.resolve("report-photos"));
        calibration = Files.createDirectory(dir.resolve("report-calibration"));
        for (int i = 0; i < 3; i++) {
            TinyClassifier.photo(photos.resolve("red_" + i + ".png"), new Color(200, 30 * i, 20), 20, 16);
            TinyClassifier.photo(photos.resolve("green_" + i + ".png"), new Color(30 * i, 200, 40), 20, 16);
            TinyClassifier.photo(calibration.resolve("c_" + i + ".png"), new Color(60 * i, 100, 200 - 50 * i), 20, 16);
        }
    }

    private static String[] eval(Path report, String... more) {
        List<String> a = new ArrayList<>(List.of("eval", "--model", equalizable.toString(), "--images", photos.toString(),
                "--labels", colours.toString(), "--preprocess", "unit", "--equalize", "--quantize", "--act-range", "calib",
                "--calib", "3", "--calib-images", calibration.toString(), "--report", report.toString()));
        a.addAll(List.of(more));
        return a.toArray(String[]::new);
    }

    private static Document parse(Path html) throws Exception {
        DocumentBuilderFactory f = DocumentBuilderFactory.newInstance();
        f.setFeature("http://apache.org/xml/features/nonvalidating/load-external-dtd", false);
        return f.newDocumentBuilder().parse(new InputSource(new StringReader(Files.readString(html))));
    }

    private static List<Element> elements(Document d, String tag, String attribute, String value) {
        NodeList all = d.getElementsByTagName(tag);
        List<Element> out = new ArrayList<>();
        for (int i = 0; i < all.getLength(); i++) {
            Element e = (Element) all.item(i);
            if (value == null ? e.hasAttribute(attribute) : value.equals(e.getAttribute(attribute))) {
                out.add(e);
            }
        }
        return out;
    }

    @Test
    void everyLayerHasItsBoxplotAndThePlottedWeightsAreTheEqualizedGraphs() throws Exception {
        Path report = dir.resolve("report");
        String out = ok(eval(report));
        Path html = report.resolve("index.html");
        assertTrue(out.contains("wrote " + html), out);
        Document d = parse(html);
        assertTrue(d.getElementsByTagName("title").item(0).getTextContent().contains("unbalanced"), "the title names the model");
        assertTrue(d.getElementsByTagName("title").item(0).getTextContent().contains("--equalize"), "and the recipe");
        String text = Files.readString(html);
        for (String external : List.of("src=", "<link", "@import", "url(")) {
            assertFalse(text.contains(external), "the page loads nothing: " + external);
        }
        assertEquals(List.of("http://www.w3.org/1999/xhtml", "http://www.w3.org/2000/svg"),
                Pattern.compile("https?://[^\"]*").matcher(text).results().map(m -> m.group()).distinct().toList(),
                "the only addresses are XML namespaces");

        List<String> overview = elements(d, "svg", "class", "chart").stream().map(e -> e.getAttribute("data-chart"))
                .filter(k -> !k.equals("channels")).toList();
        assertEquals(List.of("spread", "weight-sqnr", "activation-ranges", "activation-sqnr"), overview);

        // the same model through the Java API: folded only, and equalized as --equalize does it
        Network net = ModelFiles.read(equalizable.toString());
        GraphView before = GraphView.of(DfqRecipe.builder().build().floatPipeline().run(net).network());
        GraphView after = GraphView.of(DfqRecipe.builder().equalize(true).build().floatPipeline().run(net).network());
        List<WeightLayer> layers = after.weightLayers();
        List<Element> charts = elements(d, "svg", "data-chart", "channels");
        assertEquals(layers.size(), charts.size(), "one boxplot chart per weight layer");
        int equalized = 0;
        for (int i = 0; i < layers.size(); i++) {
            WeightLayer l = layers.get(i);
            Element chart = charts.get(i);
            assertEquals(l.output(), chart.getAttribute("data-layer"));
            INDArray wAfter = after.constant(l.weights());
            INDArray wBefore = before.constant(before.weightLayers().get(i).weights());
            boolean changed = !Arrays.equals(floats(wBefore), floats(wAfter));
            assertEquals(changed ? "2" : "1", chart.getAttribute("data-panels"), l.output());
            List<Element> panels = elements(chart.getOwnerDocument(), "g", "class", "panel").stream()
                    .filter(p -> p.getParentNode() == chart).toList();
            assertPanelDraws(panels.get(panels.size() - 1), "after", wAfter);
            if (changed) {
                assertPanelDraws(panels.get(0), "before", wBefore);
                equalized++;
            }
        }
        assertEquals(2, equalized, "conv and fc are one equalized pair");
    }

    private static final Pattern WHISKER = Pattern.compile("M([-\\d.]+) ([-\\d.]+)V([-\\d.]+)");

    /** The panel's whiskers, mapped back through its value axis, are each output channel's min and max weight. */
    private static void assertPanelDraws(Element panel, String stage, INDArray w) {
        assertEquals(stage, panel.getAttribute("data-stage"));
        INDArray flat = w.reshape(-1, w.size(w.rank() - 1)); // conv [kH,kW,in,out] and dense [in,out]: channels last
        double[] min = flat.min(0).toDoubleVector();
        double[] max = flat.max(0).toDoubleVector();
        double vmin = Double.parseDouble(panel.getAttribute("data-vmin"));
        double vmax = Double.parseDouble(panel.getAttribute("data-vmax"));
        double top = Double.parseDouble(panel.getAttribute("data-ytop"));
        double bottom = Double.parseDouble(panel.getAttribute("data-ybottom"));
        String whiskers = elements(panel.getOwnerDocument(), "path", "class", "whiskers").stream()
                .filter(p -> p.getParentNode() == panel).findFirst().orElseThrow().getAttribute("d");
        Matcher m = WHISKER.matcher(whiskers);
        double tolerance = 0.051 / (bottom - top) * (vmax - vmin); // coordinates are written to 0.1 pixel
        for (int c = 0; c < min.length; c++) {
            assertTrue(m.find(), stage + ": no whisker for channel " + c);
            double yMax = Double.parseDouble(m.group(2));
            double yMin = Double.parseDouble(m.group(3));
            assertEquals(max[c], vmin + (bottom - yMax) / (bottom - top) * (vmax - vmin), tolerance, stage + " max " + c);
            assertEquals(min[c], vmin + (bottom - yMin) / (bottom - top) * (vmax - vmin), tolerance, stage + " min " + c);
        }
        assertFalse(m.find(), stage + ": more whiskers than channels");
        assertEquals(Arrays.stream(min).min().getAsDouble(), vmin, 1e-6, "the axis spans the weights");
        assertEquals(Arrays.stream(max).max().getAsDouble(), vmax, 1e-6, "the axis spans the weights");
    }

    @Test
    void theReportFollowsTheOutputRules() throws Exception {
        Path report = dir.resolve("rules");
        ok(eval(report));
        Path html = report.resolve("index.html");
        String first = sha256(html);
        DfqRun r = dfq(eval(report)).failsWithOneLine("--report", "--force");
        assertFalse(r.out().contains("top1"), "refused before any work");
        assertEquals(first, sha256(html));
        ok(eval(report, "--force"));
        List<String> noQuantize = new ArrayList<>(List.of(eval(dir.resolve("unquantized"))));
        noQuantize.remove("--quantize");
        dfq(noQuantize.toArray(String[]::new)).failsWithOneLine("--report", "--quantize");
        assertFalse(Files.exists(dir.resolve("unquantized")));
    }

    @Test
    void aWeightsOnlyRunReportsItsWeightsAndSaysWhyNothingWasMeasured() throws Exception {
        Path report = dir.resolve("weights-only");
        List<String> args = new ArrayList<>(List.of(eval(report)));
        args.set(args.indexOf("calib"), "none");
        args.set(args.indexOf("--calib") + 1, "40"); // more than the folder holds: a data-free recipe never read them
        String out = ok(args.toArray(String[]::new));
        assertTrue(out.contains("warning: --report: activations not measured") && out.contains("40 needed"), out);
        Document d = parse(report.resolve("index.html"));
        assertEquals(List.of("spread", "weight-sqnr", "channels", "channels"), elements(d, "svg", "class", "chart")
                .stream().map(e -> e.getAttribute("data-chart")).toList());
        assertTrue(Files.readString(report.resolve("index.html")).contains("No activation is quantized"));
    }

    @Test
    void aBrowserRendersEveryChart() throws Exception {
        Path chromium = onPath("chromium", "chromium-browser", "google-chrome");
        assumeTrue(chromium != null, "no chromium on PATH: the browser check is skipped (apt-get install chromium)");
        Path report = dir.resolve("browser");
        ok(eval(report));
        Path html = report.resolve("index.html");
        int charts = elements(parse(html), "svg", "class", "chart").size();
        Path profile = Files.createTempDirectory(dir, "chromium");
        Process p = new ProcessBuilder(chromium.toString(), "--headless", "--disable-gpu", "--no-sandbox",
                "--user-data-dir=" + profile, "--dump-dom", html.toUri().toString())
                .redirectError(ProcessBuilder.Redirect.DISCARD).start();
        String dom = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        assertTrue(p.waitFor(120, TimeUnit.SECONDS), "chromium did not finish");
        assertEquals(0, p.exitValue(), "chromium failed");
        Matcher svg = Pattern.compile("<svg[^>]*class=\"chart\"[^>]*>").matcher(dom);
        int drawn = 0;
        while (svg.find()) {
            Matcher size = Pattern.compile("data-drawn=\"(\\d+) (\\d+) (\\d+)\"").matcher(svg.group());
            assertTrue(size.find(), "the browser did not lay out " + svg.group());
            assertTrue(Integer.parseInt(size.group(1)) > 0 && Integer.parseInt(size.group(2)) > 0, svg.group());
            assertTrue(Integer.parseInt(size.group(3)) >= 3, "a chart draws its axis and its data: " + svg.group());
            drawn++;
        }
        assertEquals(charts, drawn, "every chart of the page is rendered with geometry");
    }

    private static float[] floats(INDArray a) {
        return a.castTo(DataType.FLOAT).dup('c').data().asFloat();
    }

    private static Path onPath(String... names) throws IOException {
        for (String dirName : System.getenv().getOrDefault("PATH", "").split(File.pathSeparator)) {
            for (String n : names) {
                Path p = Path.of(dirName, n);
                if (Files.isExecutable(p)) {
                    return p;
                }
            }
        }
        return null;
    }
}
